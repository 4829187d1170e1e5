package httpapi

// WriteReportCSV exposes the CSV writer of reports to the tests of package
// httpapi_test.
var WriteReportCSV = writeReportCSV
