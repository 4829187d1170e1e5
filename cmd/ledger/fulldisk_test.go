package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A full disk under a running service: commands answer 503 (nothing is
// acknowledged that was not written), /readyz says not ready, the process
// keeps running; once space is freed, the same requests (same
// Idempotency-Keys) are acknowledged, the service is ready again, and a
// signed checkpoint covers everything. The data dir is a 48 MiB tmpfs the
// test mounts (root only, as CI runs).
func TestFullDiskAnswers503AndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a service on a filesystem it fills; not in -short")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run the full-disk test as root (it mounts a tmpfs)")
		}
		t.Skip("the full-disk test mounts a tmpfs: needs root")
	}
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk")
	if err := os.Mkdir(disk, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", disk).Run() })
	data := filepath.Join(disk, "data")
	in := serveOne(t, dir, data)
	tok := func(role, sub string) string {
		out, err := run(t, "token", "issue", "--data-dir", data, "--role", role, "--subject", sub)
		if err != nil {
			t.Fatal(err)
		}
		return out[:len(out)-1]
	}
	bank, auditor := tok("bank", "30004"), tok("auditor", "alice")
	var first struct{ Attestation struct{ Number string } }
	if code := post(in.url+"/v1/loan-requests", bank, "before", requestBody("732829320", 1000000), &first); code != 201 {
		t.Fatalf("before the disk is full: %d", code)
	}

	fill := filepath.Join(disk, "fill")
	f, err := os.Create(fill)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()
	sirens := []string{"552100554", "356000000", "443061841"}
	for i, s := range sirens {
		if code := post(in.url+"/v1/loan-requests", bank, fmt.Sprintf("full-%d", i), requestBody(s, 1000000), nil); code != http.StatusServiceUnavailable {
			t.Fatalf("request %d on a full disk: %d, want 503", i, code)
		}
	}
	waitStatus(t, in.url+"/readyz", http.StatusServiceUnavailable, 20*time.Second)
	time.Sleep(2 * time.Second) // what failed in the background has failed by now
	if err := in.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the service stopped on a full disk: %v", err)
	}

	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	var last struct{ Position uint64 }
	for i, s := range sirens {
		deadline := time.Now().Add(60 * time.Second)
		for post(in.url+"/v1/loan-requests", bank, fmt.Sprintf("full-%d", i), requestBody(s, 1000000), &last) != 201 {
			if time.Now().After(deadline) {
				t.Fatalf("request %d not acknowledged a minute after space was freed", i)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitStatus(t, in.url+"/readyz", http.StatusOK, 60*time.Second)
	if code := call(t, "GET", fmt.Sprintf("%s/v1/attestations/%s?minPosition=%d", in.url, first.Attestation.Number, last.Position), auditor, nil, nil); code != 200 {
		t.Fatalf("the attestation acknowledged before the disk filled: %d", code)
	}
	if code := call(t, "GET", fmt.Sprintf("%s/v1/ledger/checkpoints?minPosition=%d&limit=1", in.url, last.Position), auditor, nil, nil); code != 200 {
		t.Fatalf("no checkpoint covers position %d after the disk was freed: %d", last.Position, code)
	}
}

// waitStatus waits until url answers status.
func waitStatus(t *testing.T, url string, status int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered %d", url, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
