package domain

import "testing"

func TestClassifySizeBoundaries(t *testing.T) {
	const M = 1_000_000_00 // one million euros in cents
	for _, tc := range []struct {
		headcount int64
		turnover  Cents
		bs        *Cents
		want      SizeCategory
	}{
		{9, 2 * M, nil, SizeMicro},
		{9, 2*M + 1, nil, SizeSME}, // no balance sheet: its test is not met
		{9, 2*M + 1, cents(2 * M), SizeMicro},
		{9, 2*M + 1, cents(2*M + 1), SizeSME},
		{10, 1, cents(1), SizeSME},
		{249, 50 * M, nil, SizeSME},
		{249, 50*M + 1, cents(43 * M), SizeSME},
		{249, 50*M + 1, cents(43*M + 1), SizeMidcap},
		{250, 1, nil, SizeMidcap},
		{4999, 1500 * M, nil, SizeMidcap},
		{4999, 1500*M + 1, cents(2000 * M), SizeMidcap},
		{4999, 1500*M + 1, cents(2000*M + 1), SizeLarge},
		{4999, 1500*M + 1, nil, SizeLarge},
		{5000, 1, cents(1), SizeLarge},
	} {
		if got := ClassifySize(tc.headcount, tc.turnover, tc.bs); got != tc.want {
			t.Errorf("ClassifySize(%d, %d, %v) = %s, want %s", tc.headcount, tc.turnover, tc.bs, got, tc.want)
		}
	}
	for _, s := range []SizeCategory{SizeMicro, SizeSME, SizeMidcap, SizeLarge} {
		if s.Label() == string(s) {
			t.Errorf("no label for %s", s)
		}
	}
}

func TestFeeScheduleBoundaries(t *testing.T) {
	const M = 1_000_000_00
	for _, tc := range []struct {
		name      string
		headcount int64
		turnover  Cents
		bs        *Cents
		want      FeeSchedule
	}{
		{"250 people", 250, M, nil, SMEFeeSchedule},
		{"251 people", 251, M, nil, LargerFeeSchedule},
		{"turnover and balance sheet above", 10, 50*M + 1, cents(43*M + 1), LargerFeeSchedule},
		{"turnover above, balance sheet at the limit", 10, 50*M + 1, cents(43 * M), SMEFeeSchedule},
		{"turnover at the limit", 10, 50 * M, cents(100 * M), SMEFeeSchedule},
		{"turnover above, no balance sheet", 10, 100 * M, nil, SMEFeeSchedule},
	} {
		if got := Fees(tc.headcount, tc.turnover, tc.bs); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestGuaranteeIsNotTheSizeCategory(t *testing.T) {
	// 4,999 people and 1.6 bn € of turnover: a large company for §5 and
	// 80 % guaranteed, while §6 makes it a midcap if its balance sheet is
	// at most 2 bn €.
	bs := Cents(1_000_000_000_00)
	if got := ClassifySize(4999, 1_600_000_000_00, &bs); got != SizeMidcap {
		t.Fatalf("size %s", got)
	}
	if !IsLargeCompany(4999, 1_600_000_000_00) || GuaranteeRate(4999, 1_600_000_000_00) != 8000 {
		t.Fatal("guarantee rules follow the size category")
	}
}

func TestRulesForBusinessDate(t *testing.T) {
	for on, want := range map[string]string{
		"2019-01-01": "2020-03-23", "2020-03-16": "2020-03-23", "2020-04-25": "2020-03-23",
		"2020-04-26": "2020-04-26", "2022-06-30": "2020-04-26", "2023-01-01": "2020-04-26",
	} {
		if got := RulesFor(MustDate(on)).Version; got != want {
			t.Errorf("RulesFor(%s) = %s, want %s", on, got, want)
		}
	}
}
