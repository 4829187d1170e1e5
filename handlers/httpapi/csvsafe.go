package httpapi

// csvText neutralises a text cell of a CSV export against formula
// injection (CWE-1236): a spreadsheet opening the file runs a cell that
// starts with "=", "+", "-" or "@" (or a tab or carriage return before
// one) as a formula, so a company called `=HYPERLINK("http://evil…")`
// would become a link, or worse, on the reader's machine. Such a cell is
// prefixed with a single quote, which spreadsheets show as text; the
// value is otherwise unchanged (OWASP, "CSV Injection"). Numbers are not
// text cells and are written as they are.
//
// Input is not refused for this: "+Simple" or "@Home" are fine company
// names, and the danger is only in the one place that writes CSV.
func csvText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
