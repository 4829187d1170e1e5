package integrity

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestCheckpointFormat(t *testing.T) {
	rng := newRand(t)
	store := newStore(t, rng, 5)
	l := openLog(t, testConfig(t))
	ctx := context.Background()
	if err := l.CatchUp(ctx, store); err != nil {
		t.Fatal(err)
	}
	c, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, root := l.Size()
	text := "test.example/ledger\n5\n" + root.String() + "\n"
	if !strings.HasPrefix(string(c.Note), text+"\n— test.example/ledger ") || !strings.HasSuffix(string(c.Note), "\n") {
		t.Fatalf("checkpoint note:\n%s", c.Note)
	}
	// Standard tools open it with the verifier key.
	v, err := note.NewVerifier(l.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(c.Note, note.VerifierList(v))
	if err != nil || n.Text != text {
		t.Fatalf("note.Open: %v %q", err, n.Text)
	}
	if parts := strings.SplitN(l.VerifierKey(), "+", 3); len(parts) != 3 || parts[0] != "test.example/ledger" {
		t.Fatalf("verifier key %q is not name+hash+base64", l.VerifierKey())
	}
	back, err := ParseCheckpoint([]byte(text))
	if err != nil || back != c.Checkpoint {
		t.Fatalf("ParseCheckpoint = %+v, %v", back, err)
	}
	for _, bad := range []string{"o\n5\n", "o\n05\n" + root.String() + "\n", "o\n-1\n" + root.String() + "\n", "\n5\n" + root.String() + "\n", "o\n5\nnotbase64\n", "o\n5\n" + root.String()} {
		if _, err := ParseCheckpoint([]byte(bad)); !errors.Is(err, ErrBadCheckpoint) {
			t.Errorf("ParseCheckpoint(%q) = %v", bad, err)
		}
	}
	if _, err := ParseCheckpoint([]byte(text + "extension line\n")); err != nil {
		t.Errorf("extension lines refused: %v", err)
	}
}

func TestCheckpointsPersistedAndQueryable(t *testing.T) {
	rng := newRand(t)
	store := newStore(t, rng, 100)
	envs := readAll(t, store)
	cfg := testConfig(t)
	ctx := context.Background()
	l, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var want []SignedCheckpoint
	for _, n := range []int{0, 1, 2, 10, 64, 100} {
		size, _ := l.Size()
		if _, err := l.Append(ctx, envs[size:n]...); err != nil {
			t.Fatal(err)
		}
		c, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, c)
	}
	if again, err := l.Checkpoint(ctx); err != nil || again.Size != 100 || len(l.CheckpointSizes()) != 6 {
		t.Fatalf("Checkpoint without growth published a new one: %v %v", l.CheckpointSizes(), err)
	}
	_ = l.Close()
	l = openLog(t, cfg)
	for _, w := range want {
		got, err := l.CheckpointAt(ctx, w.Size)
		if err != nil || !bytes.Equal(got.Note, w.Note) || got.Checkpoint != w.Checkpoint {
			t.Fatalf("CheckpointAt(%d) = %+v, %v", w.Size, got, err)
		}
	}
	if latest, ok := l.Latest(); !ok || !bytes.Equal(latest.Note, want[len(want)-1].Note) {
		t.Fatal("Latest after reopen")
	}
	if _, err := l.CheckpointAt(ctx, 3); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("CheckpointAt(3) = %v, want ErrNoCheckpoint", err)
	}
	if c, err := l.WaitCheckpoint(ctx, 64); err != nil || c.Size != 100 {
		t.Fatalf("WaitCheckpoint = %d, %v", c.Size, err)
	}
}

func TestKeyCreatedOnceAndProtected(t *testing.T) {
	cfg := testConfig(t)
	cfg.KeyDir = filepath.Join(t.TempDir(), "keys")
	ctx := context.Background()
	l, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	vkey := l.VerifierKey()
	_ = l.Close()
	fi, err := os.Stat(filepath.Join(cfg.KeyDir, signerKeyName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key mode %v, want 0600", fi.Mode().Perm())
	}
	l = openLog(t, cfg)
	if l.VerifierKey() != vkey {
		t.Fatal("the key changed on reopen")
	}
	_ = l.Close()

	other := cfg
	other.Origin = "other.example/ledger"
	if _, err := Open(ctx, other); err == nil {
		t.Fatal("opened with another origin than the key's name")
	}
	if err := os.Chmod(filepath.Join(cfg.KeyDir, signerKeyName), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, cfg); err == nil {
		t.Fatal("opened with a world-readable signing key")
	}
}

func TestOpenRefusesCheckpointsOfAnotherKey(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	l, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	if err := os.Remove(filepath.Join(cfg.Dir, signerKeyName)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, cfg); !errors.Is(err, ErrBadCheckpoint) {
		t.Fatalf("Open with a new key over old checkpoints = %v, want ErrBadCheckpoint", err)
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{Origin: "has space", CheckpointInterval: -1, BatchSize: -1}.Validate()
	for _, want := range []string{"Dir is required", "Origin", "CheckpointInterval", "BatchSize"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
	if err := (Config{Dir: "x"}).Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	if _, err := Open(context.Background(), Config{Origin: "a+b"}); err == nil {
		t.Error("Open accepted a bad config")
	}
}

func TestOpenCheckpointRejectsForgeries(t *testing.T) {
	cfg := testConfig(t)
	l := openLog(t, cfg)
	c, err := l.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(c.Note, l.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	// Another key of the same name.
	skey, vkey, err := note.GenerateKey(rand.Reader, cfg.Origin)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	forged, _ := note.Sign(&note.Note{Text: string(Checkpoint{Origin: cfg.Origin, Size: 1 << 40, Root: tlog.Hash{1}}.Text())}, s)
	if _, err := OpenCheckpoint(forged, l.VerifierKey()); !errors.Is(err, ErrBadCheckpoint) {
		t.Fatalf("forged checkpoint: %v", err)
	}
	if _, err := OpenCheckpoint(c.Note, vkey); !errors.Is(err, ErrBadCheckpoint) {
		t.Fatalf("checkpoint under another key: %v", err)
	}
}
