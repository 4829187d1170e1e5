// Package workload generates a realistic spring-2020 PGE workload: companies
// with valid SIRENs, in the proportions of the 2020 dashboards (about 90 %
// micro-companies, sectors and regions by weight), ten banks, business dates
// from 2020-03-25 on, some ineligible and some large companies. It is
// deterministic for a seed, so runs can be compared.
package workload

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Company is a generated company and the loan request body it sends.
type Company struct {
	SIREN string
	// Body is the JSON body of POST /v1/loan-requests, without bankCode
	// and amountCents, which each Request sets.
	Profile map[string]any
	// Kind says how it was drawn, for the demo's summary.
	Kind string
}

// Request is one loan request of the workload.
type Request struct {
	Company     *Company
	BankCode    string
	AmountCents int64
	RequestedOn string
	// ByCompany: the company submits itself rather than its bank.
	ByCompany bool
	// Then is what the bank does after an attestation: "grant",
	// "cancel" or "" (nothing yet).
	Then string
}

// Body returns the JSON body of the request.
func (r Request) Body() map[string]any {
	return map[string]any{
		"siren": r.Company.SIREN, "bankCode": r.BankCode, "amountCents": r.AmountCents,
		"requestedOn": r.RequestedOn, "company": r.Company.Profile,
	}
}

// Banks are the lending banks of the workload, with their market shares.
var Banks = []struct {
	Code   string
	Weight float64
}{
	{"30004", 16}, {"30003", 14}, {"30002", 10}, {"20041", 9}, {"10278", 12},
	{"30066", 8}, {"10107", 5}, {"30006", 18}, {"13507", 4}, {"11315", 4},
}

type weighted struct {
	value  string
	weight float64
}

var regions = []weighted{
	{"11", 30}, {"84", 12}, {"93", 9}, {"76", 9}, {"75", 8}, {"32", 7}, {"44", 7},
	{"52", 5}, {"53", 4}, {"28", 4}, {"27", 3}, {"24", 3}, {"94", 0.5},
	{"01", 0.4}, {"02", 0.4}, {"03", 0.2}, {"04", 0.8}, {"06", 0.2},
}

// nafCodes are activity codes by the weight of their section among PGE
// borrowers (trade, construction, hotels and restaurants first).
var nafCodes = []weighted{
	{"47.11B", 6}, {"45.20A", 5}, {"46.90Z", 5}, {"47.71Z", 4}, // G
	{"43.21A", 6}, {"41.20A", 4}, {"43.99C", 3}, // F
	{"56.10A", 8}, {"56.30Z", 3}, {"55.10Z", 2}, // I
	{"69.20Z", 4}, {"70.22Z", 4}, {"71.12B", 3}, // M
	{"10.71C", 4}, {"25.62B", 2}, {"28.29B", 1}, // C
	{"86.21Z", 3}, {"88.10A", 2}, // Q
	{"81.21Z", 3}, {"77.11A", 2}, // N
	{"49.41A", 3}, {"53.20Z", 1}, // H
	{"62.01Z", 3}, {"58.11Z", 1}, // J
	{"96.02A", 3}, {"94.99Z", 2}, // S
	{"68.20B", 2}, {"68.31Z", 1}, // L
	{"66.19B", 0.7}, {"64.19Z", 0.3}, // K (64.19Z is excluded)
	{"90.01Z", 1}, {"93.12Z", 1}, // R
	{"01.11Z", 2}, // A
	{"85.59A", 1}, // P
}

var legalForms = []weighted{{"SAS", 35}, {"SARL", 40}, {"EI", 12}, {"SA", 5}, {"SASU", 6}, {"SCI", 2}}

// Generator draws the workload.
type Generator struct {
	r *rand.Rand
}

// New returns a generator for a seed.
func New(seed uint64) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *Generator) pick(ws []weighted) string {
	total := 0.0
	for _, w := range ws {
		total += w.weight
	}
	x := g.r.Float64() * total
	for _, w := range ws {
		if x -= w.weight; x < 0 {
			return w.value
		}
	}
	return ws[len(ws)-1].value
}

// Bank draws a bank code by market share.
func (g *Generator) Bank() string {
	ws := make([]weighted, len(Banks))
	for i, b := range Banks {
		ws[i] = weighted{b.Code, b.Weight}
	}
	return g.pick(ws)
}

// SIREN draws a random SIREN with a valid Luhn checksum.
func (g *Generator) SIREN() string {
	d := make([]byte, 9)
	for i := 0; i < 8; i++ {
		d[i] = byte('0' + g.r.IntN(10))
	}
	if d[0] == '0' {
		d[0] = '1'
	}
	sum := 0
	for i := 0; i < 8; i++ { // positions 1..8 from the right, check digit at 0
		v := int(d[7-i] - '0')
		if i%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	d[8] = byte('0' + (10-sum%10)%10)
	return string(d)
}

func (g *Generator) between(lo, hi int64) int64 { return lo + g.r.Int64N(hi-lo+1) }

// Company draws a company: 90 % micro, 8 % SMEs, 1.8 % midcaps, 0.2 %
// large companies; a few with a collective proceeding or created in 2019.
func (g *Generator) Company() *Company {
	const euro = 100
	c := &Company{SIREN: g.SIREN()}
	var headcount, turnover int64
	switch x := g.r.Float64(); {
	case x < 0.90:
		c.Kind, headcount, turnover = "micro", g.between(0, 9), g.between(50_000, 1_900_000)*euro
	case x < 0.98:
		c.Kind, headcount, turnover = "sme", g.between(10, 249), g.between(2_000_000, 50_000_000)*euro
	case x < 0.998:
		c.Kind, headcount, turnover = "midcap", g.between(250, 4_999), g.between(50_000_000, 1_400_000_000)*euro
	default:
		c.Kind, headcount, turnover = "large", g.between(5_000, 60_000), g.between(1_500_000_000, 9_000_000_000)*euro
	}
	payroll := turnover / 3
	created := time.Date(1960+g.r.IntN(59), time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), 0, 0, 0, 0, time.UTC)
	if g.r.Float64() < 0.04 {
		created = time.Date(2019, time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), 0, 0, 0, 0, time.UTC)
		payroll = turnover / 2
	}
	proceeding := map[string]any{"kind": "none", "openedOn": nil}
	if g.r.Float64() < 0.015 {
		kinds := []string{"safeguard", "receivership", "liquidation"}
		opened := time.Date(2019+g.r.IntN(2), time.Month(1+g.r.IntN(3)), 1+g.r.IntN(28), 0, 0, 0, 0, time.UTC)
		proceeding = map[string]any{"kind": kinds[g.r.IntN(3)], "openedOn": opened.Format("2006-01-02")}
	}
	c.Profile = map[string]any{
		"name":                 fmt.Sprintf("Entreprise %s", c.SIREN),
		"legalForm":            g.pick(legalForms),
		"nafCode":              g.pick(nafCodes),
		"regionCode":           g.pick(regions),
		"headcount":            headcount,
		"turnoverCents":        turnover,
		"balanceSheetCents":    turnover * int64(40+g.r.IntN(60)) / 100,
		"payrollCents":         payroll,
		"createdOn":            created.Format("2006-01-02"),
		"innovative":           g.r.Float64() < 0.03,
		"collectiveProceeding": proceeding,
	}
	return c
}

// ceiling is the company's ceiling as DOMAIN.md §3.6 computes it, for
// drawing amounts around it.
func ceiling(c *Company) int64 {
	p := c.Profile
	if p["createdOn"].(string) >= "2019-01-01" {
		return p["payrollCents"].(int64)
	}
	quarter := p["turnoverCents"].(int64) / 4
	if p["innovative"].(bool) && 2*p["payrollCents"].(int64) > quarter {
		return 2 * p["payrollCents"].(int64)
	}
	return quarter
}

// RequestedOn draws a business date from 2020-03-25, most in the first
// weeks, as in 2020.
func (g *Generator) RequestedOn() string {
	start := time.Date(2020, 3, 25, 0, 0, 0, 0, time.UTC)
	days := int(g.r.ExpFloat64() * 20)
	if days > 97 {
		days = g.r.IntN(97)
	}
	return start.AddDate(0, 0, days).Format("2006-01-02")
}

// Requests draws the loan requests of one company: usually one, for 40 to
// 100 % of its ceiling; sometimes over the ceiling; sometimes two banks at
// once for the same company (on the same day).
func (g *Generator) Requests(c *Company) []Request {
	ceil := max(ceiling(c), 100_000)
	on := g.RequestedOn()
	first := Request{Company: c, BankCode: g.Bank(), RequestedOn: on, ByCompany: g.r.Float64() < 0.2}
	switch x := g.r.Float64(); {
	case x < 0.05: // over the ceiling
		first.AmountCents = ceil + g.between(1, ceil/2+1)
	default:
		first.AmountCents = ceil * g.between(40, 100) / 100
	}
	first.Then = g.then()
	reqs := []Request{first}
	if g.r.Float64() < 0.06 { // a second bank, at the same moment
		second := Request{Company: c, BankCode: g.Bank(), RequestedOn: on, AmountCents: ceil * g.between(30, 70) / 100}
		second.Then = g.then()
		reqs = append(reqs, second)
	}
	return reqs
}

func (g *Generator) then() string {
	switch x := g.r.Float64(); {
	case x < 0.70:
		return "grant"
	case x < 0.75:
		return "cancel"
	}
	return ""
}
