package securityreport

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"time"
)

//go:embed report.html.tmpl
var reportHTML string

// page is the printable page's template: French labels, no external
// asset (the style is inline).
var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
	},
	"keys": func(m map[string]int) []string { return slices.Sorted(maps.Keys(m)) },
	"detail": func(m map[string]string) string {
		var b bytes.Buffer
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s=%s", k, m[k])
		}
		return b.String()
	},
	"severityFR": func(s string) string {
		return map[string]string{Critical: "critique", High: "élevée", Medium: "moyenne", Low: "faible", Info: "information"}[s]
	},
	"statusFR": func(s string) string {
		return map[string]string{Met: "satisfaite", Partial: "partielle", NotMet: "non satisfaite"}[s]
	},
	"yesno": func(b bool) string {
		if b {
			return "oui"
		}
		return "non"
	},
	"seconds": func(d time.Duration) string { return fmt.Sprintf("%.0f s", d.Seconds()) },
}).Parse(reportHTML))

// WriteHTML writes the report as a printable HTML page (French labels).
func (r Report) WriteHTML(w io.Writer) error {
	var buf bytes.Buffer
	if err := page.Execute(&buf, r); err != nil {
		return fmt.Errorf("render the security report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
