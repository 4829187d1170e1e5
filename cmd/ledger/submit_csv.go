package main

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// The columns of `ledger submit`'s CSV (docs/API.md, "Bulk submission"):
// one a field of POST /v1/loan-requests, the company's under their own
// names, the collective proceeding as two columns. A header line names
// them, in any order.
var (
	// requiredColumns must be in the header.
	requiredColumns = []string{"siren", "bankCode", "amountCents", "name", "legalForm", "nafCode", "regionCode",
		"headcount", "turnoverCents", "payrollCents", "createdOn"}
	// optionalColumns may be left out of the header, or empty on a line.
	optionalColumns = []string{"idempotencyKey", "requestedOn", "balanceSheetCents", "innovative",
		"collectiveProceeding", "collectiveProceedingOpenedOn"}
)

// csvRequest is one line of the file, made into a batch line.
type csvRequest struct {
	// line is the line of the file the record starts on.
	line int
	key  string
	bank string
	// json is the batch line: {"idempotencyKey": …, "request": {…}}.
	json []byte
}

// csvLineError is a line that could not be made into a request (sent
// nowhere).
type csvLineError struct {
	line int
	msg  string
}

// loanRequestJSON is the body of POST /v1/loan-requests, with the fields
// the CSV may leave empty left out (the server then applies its defaults
// or refuses the line).
type loanRequestJSON struct {
	SIREN       string      `json:"siren"`
	BankCode    string      `json:"bankCode"`
	AmountCents json.Number `json:"amountCents"`
	RequestedOn string      `json:"requestedOn,omitempty"`
	Company     companyJSON `json:"company"`
}

type companyJSON struct {
	Name                 string         `json:"name"`
	LegalForm            string         `json:"legalForm"`
	NAFCode              string         `json:"nafCode"`
	RegionCode           string         `json:"regionCode"`
	Headcount            json.Number    `json:"headcount"`
	TurnoverCents        json.Number    `json:"turnoverCents"`
	BalanceSheetCents    json.Number    `json:"balanceSheetCents,omitempty"`
	PayrollCents         json.Number    `json:"payrollCents"`
	CreatedOn            string         `json:"createdOn"`
	Innovative           bool           `json:"innovative"`
	CollectiveProceeding proceedingJSON `json:"collectiveProceeding"`
}

type proceedingJSON struct {
	Kind     string  `json:"kind"`
	OpenedOn *string `json:"openedOn"`
}

// readRequestsCSV reads the file: its requests and the lines it could not
// read. Each line's idempotency key is its key column or, when that is
// absent or empty, derived from the line's number and its request, so
// that the same file sent again appends nothing new, and a file whose bad
// lines were corrected resubmits only those.
func readRequestsCSV(r io.Reader) ([]csvRequest, []csvLineError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("the file is empty: want a header line (%s)", strings.Join(requiredColumns, ","))
		}
		return nil, nil, fmt.Errorf("read the header line: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
		if !slices.Contains(requiredColumns, name) && !slices.Contains(optionalColumns, name) {
			return nil, nil, fmt.Errorf("header: unknown column %q (columns: %s; optional: %s)", name,
				strings.Join(requiredColumns, ","), strings.Join(optionalColumns, ","))
		}
		if _, dup := col[name]; dup {
			return nil, nil, fmt.Errorf("header: column %q given twice", name)
		}
		col[name] = i
	}
	var missing []string
	for _, name := range requiredColumns {
		if _, ok := col[name]; !ok {
			missing = append(missing, name)
		}
	}
	if missing != nil {
		return nil, nil, fmt.Errorf("header: missing column(s) %s", strings.Join(missing, ","))
	}
	var reqs []csvRequest
	var bad []csvLineError
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, csvLineError{line: pe.StartLine, msg: pe.Err.Error()})
				continue
			}
			return nil, nil, fmt.Errorf("read line %d: %w", line, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		req, err := csvLine(rec, col, line)
		if err != nil {
			bad = append(bad, csvLineError{line: line, msg: err.Error()})
			continue
		}
		reqs = append(reqs, req)
	}
	return reqs, bad, nil
}

// csvLine makes one record into a batch line.
func csvLine(rec []string, col map[string]int, line int) (csvRequest, error) {
	if len(rec) != len(col) {
		return csvRequest{}, fmt.Errorf("%d fields, the header has %d", len(rec), len(col))
	}
	get := func(name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var bad []string
	number := func(name string, optional bool) json.Number {
		v := get(name)
		if v == "" && optional {
			return ""
		}
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %q is not a whole number", name, v))
			return ""
		}
		return json.Number(v)
	}
	innovative := false
	switch v := strings.ToLower(get("innovative")); v {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		innovative = true
	default:
		bad = append(bad, fmt.Sprintf("innovative: %q is not true or false", v))
	}
	p := proceedingJSON{Kind: get("collectiveProceeding")}
	if p.Kind == "" {
		p.Kind = "none"
	}
	if on := get("collectiveProceedingOpenedOn"); on != "" {
		p.OpenedOn = &on
	}
	body := loanRequestJSON{
		SIREN: get("siren"), BankCode: get("bankCode"), AmountCents: number("amountCents", false), RequestedOn: get("requestedOn"),
		Company: companyJSON{
			Name: get("name"), LegalForm: get("legalForm"), NAFCode: get("nafCode"), RegionCode: get("regionCode"),
			Headcount: number("headcount", false), TurnoverCents: number("turnoverCents", false),
			BalanceSheetCents: number("balanceSheetCents", true), PayrollCents: number("payrollCents", false),
			CreatedOn: get("createdOn"), Innovative: innovative, CollectiveProceeding: p,
		},
	}
	if bad != nil {
		return csvRequest{}, errors.New(strings.Join(bad, "; "))
	}
	reqJSON, err := json.Marshal(body)
	if err != nil {
		return csvRequest{}, err
	}
	key := get("idempotencyKey")
	if key == "" {
		sum := sha256.Sum256(reqJSON)
		key = fmt.Sprintf("csv-%d-%s", line, hex.EncodeToString(sum[:12]))
	}
	lineJSON, err := json.Marshal(struct {
		Key     string          `json:"idempotencyKey"`
		Request json.RawMessage `json:"request"`
	}{key, reqJSON})
	if err != nil {
		return csvRequest{}, err
	}
	return csvRequest{line: line, key: key, bank: body.BankCode, json: lineJSON}, nil
}
