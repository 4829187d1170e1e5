package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
)

// quotaRoles are the roles with a quota setting, in the order of the
// settings (quota-company, quota-bank, …).
var quotaRoles = []domain.Role{domain.RoleCompany, domain.RoleBank, domain.RoleAuditor, domain.RoleRegulator, domain.RoleAdmin}

// quotaKeys are the settings of the per-principal quotas (ledger serve).
var quotaKeys = []string{"quota-company", "quota-bank", "quota-auditor", "quota-regulator", "quota-admin", "quota-anonymous",
	"quota-role-in-flight", "max-wait"}

func init() {
	def := httpapi.DefaultQuotas()
	for _, r := range quotaRoles {
		settings = append(settings, struct{ key, def, help string }{
			"quota-" + string(r), def.Roles[r].String(),
			fmt.Sprintf("quota of each %s token subject: rate (requests/s), burst, concurrent (in flight), waits (?minPosition at once), batches (bulk submissions at once); a field at 0, or \"off\" for all, is no limit", r),
		})
	}
	settings = append(settings,
		struct{ key, def, help string }{"quota-anonymous", def.Anonymous.String(),
			"quota of each source address for requests without a valid token (same fields)"},
		struct{ key, def, help string }{"quota-role-in-flight", httpapi.RoleInFlightString(def.RoleInFlight),
			"requests in flight of all the principals of a role together (role=number; 0: no bound; \"off\": none)"},
		struct{ key, def, help string }{"max-wait", def.MaxWait.String(),
			"longest wait of a ?minPosition request (at most 5s)"},
	)
}

// quotasFrom reads the quota settings.
func quotasFrom(v *viper.Viper) (httpapi.Quotas, error) {
	q := httpapi.DefaultQuotas()
	read := func(key string, def httpapi.Quota) (httpapi.Quota, error) {
		s := strings.TrimSpace(v.GetString(key))
		if s == "off" {
			return httpapi.Quota{}, nil
		}
		out, err := httpapi.ParseQuota(s, def)
		if err != nil {
			return httpapi.Quota{}, fmt.Errorf("%s: %w", key, err)
		}
		return out, nil
	}
	var err error
	for _, r := range quotaRoles {
		if q.Roles[r], err = read("quota-"+string(r), q.Roles[r]); err != nil {
			return httpapi.Quotas{}, err
		}
	}
	if q.Anonymous, err = read("quota-anonymous", q.Anonymous); err != nil {
		return httpapi.Quotas{}, err
	}
	if s := strings.TrimSpace(v.GetString("quota-role-in-flight")); s == "off" {
		q.RoleInFlight = map[string]int{}
	} else if q.RoleInFlight, err = httpapi.ParseRoleInFlight(s, q.RoleInFlight); err != nil {
		return httpapi.Quotas{}, fmt.Errorf("quota-role-in-flight: %w", err)
	}
	if q.MaxWait, err = durationFlag(v, "max-wait"); err != nil {
		return httpapi.Quotas{}, err
	}
	if q.MaxWait <= 0 || q.MaxWait > 5*time.Second {
		return httpapi.Quotas{}, fmt.Errorf("max-wait %s: want more than 0 and at most 5s", q.MaxWait)
	}
	return q, nil
}
