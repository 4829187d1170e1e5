package journal

import "testing"

func TestSourceIPAndTenant(t *testing.T) {
	for in, want := range map[string]string{"192.0.2.7:51234": "192.0.2.7", "[2001:db8::1]:443": "2001:db8::1", "192.0.2.8": "192.0.2.8", "[2001:db8::2]": "2001:db8::2"} {
		if got := SourceIP(in); got != want {
			t.Errorf("SourceIP(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range [][3]string{{"bank", "30004", "bank:30004"}, {"company", "552100554", "siren:552100554"}, {"auditor", "a1", ""}, {"bank", "", ""}} {
		if got := Tenant(c[0], c[1]); got != c[2] {
			t.Errorf("Tenant(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}
