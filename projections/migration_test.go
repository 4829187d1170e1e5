package projections

import (
	"database/sql"
	"io/fs"
	"testing"

	"github.com/pressly/goose/v3"
)

// Migration 00002 (issue 11) drops the companies rows an older binary
// wrote, whose name and ceiling a rejected request may have overwritten,
// and has the companies projector start again from the first event: once
// caught up, the read models equal those of a binary that always ran with
// the new rule, row for row.
func TestMigration2ReprojectsTheCompanies(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 11)
	h.run(t.Context(), 300)
	dir := t.TempDir()
	rm := openRM(t, dir, store, nil)
	stop := runRM(t, rm)
	waitHead(t, rm, store)
	want := dump(t, rm.cur.Load().r)
	path := rm.cur.Load().path
	stop()
	if err := rm.Close(); err != nil {
		t.Fatal(err)
	}

	// What an older binary left: the schema of migration 1, and companies
	// rows with another name and ceiling.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	fsys, _ := fs.Sub(migrationFiles, "migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if res, err := db.ExecContext(t.Context(), `UPDATE companies SET name = 'Injected', ceiling_cents = 1`); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n == 0 {
		t.Fatal("no companies rows to spoil")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	rm = openRM(t, dir, store, nil)
	runRM(t, rm)
	waitHead(t, rm, store)
	assertSameRows(t, want, dump(t, rm.cur.Load().r))
}
