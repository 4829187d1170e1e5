package main

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
)

// The quotas of ledger serve come from flags, LEDGER_* variables or
// ledger.yaml like every setting, default to httpapi.DefaultQuotas, and
// reach the HTTP API's configuration.
func TestQuotaSettings(t *testing.T) {
	config := func(args ...string) (httpapi.Quotas, error) {
		t.Helper()
		c := newServeCommand()
		c.Flags().String("config", "", "")
		if err := c.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		v, err := loadConfig(c)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := appConfig(v, nil)
		if err != nil {
			return httpapi.Quotas{}, err
		}
		var h httpapi.Config
		cfg.HTTP(&h)
		return *h.Quotas, nil
	}
	q, err := config()
	if err != nil {
		t.Fatal(err)
	}
	def := httpapi.DefaultQuotas()
	for _, r := range quotaRoles {
		if q.Roles[r] != def.Roles[r] {
			t.Errorf("default %s: %+v, want %+v", r, q.Roles[r], def.Roles[r])
		}
	}
	if q.Anonymous != def.Anonymous || q.MaxWait != 5*time.Second || !maps.Equal(q.RoleInFlight, def.RoleInFlight) {
		t.Errorf("defaults: %+v", q)
	}

	t.Setenv("LEDGER_QUOTA_COMPANY", "rate=5,waits=1")
	q, err = config("--quota-bank", "off", "--max-wait", "2s", "--quota-anonymous", "concurrent=8", "--quota-role-in-flight", "company=10")
	if err != nil {
		t.Fatal(err)
	}
	want := def.Roles[domain.RoleCompany]
	want.Rate, want.Waits = 5, 1
	if q.Roles[domain.RoleCompany] != want || q.Roles[domain.RoleBank] != (httpapi.Quota{}) || q.MaxWait != 2*time.Second ||
		q.Anonymous.Concurrent != 8 || q.Anonymous.Rate != def.Anonymous.Rate ||
		q.RoleInFlight["company"] != 10 || q.RoleInFlight["bank"] != def.RoleInFlight["bank"] {
		t.Errorf("from the environment and flags: %+v", q)
	}
	t.Setenv("LEDGER_QUOTA_COMPANY", "")

	for _, bad := range [][]string{{"--quota-bank", "rate=fast"}, {"--quota-admin", "speed=1"}, {"--max-wait", "10s"}, {"--max-wait", "0s"}, {"--quota-role-in-flight", "robots=1"}} {
		if _, err := config(bad...); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// The quota flags are in the help of ledger serve, with their defaults.
func TestQuotaFlagsAreDocumented(t *testing.T) {
	c := newServeCommand()
	for _, k := range quotaKeys {
		f := c.Flags().Lookup(k)
		if f == nil || f.DefValue == "" {
			t.Errorf("serve has no flag --%s with a default", k)
		}
	}
}
