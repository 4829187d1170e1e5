package integrity

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// wireProof is a proof as a client decodes it from the API's JSON.
type wireProof struct {
	Index, Size, From, To int64
	LeafHash              string
	Hashes                []string
}

func decodeWire(t *testing.T, v any) (wireProof, [][]byte) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var w wireProof
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if w.Hashes == nil {
		t.Fatalf("proof JSON has no hashes array: %s", b)
	}
	hashes := make([][]byte, len(w.Hashes))
	for i, s := range w.Hashes {
		if hashes[i], err = base64.StdEncoding.DecodeString(s); err != nil {
			t.Fatal(err)
		}
	}
	return w, hashes
}

// appendInBatches appends the events in random batches, publishing a
// checkpoint after each, and returns the checkpoints.
func appendInBatches(t *testing.T, l *Log, envs []eventstore.Envelope, maxBatch int, rngIntN func(int) int) []SignedCheckpoint {
	t.Helper()
	ctx := context.Background()
	var cps []SignedCheckpoint
	for i := 0; i < len(envs); {
		k := min(len(envs)-i, 1+rngIntN(maxBatch))
		if _, err := l.Append(ctx, envs[i:i+k]...); err != nil {
			t.Fatal(err)
		}
		i += k
		c, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, c)
	}
	return cps
}

func TestProofsVerifyWithTransparencyDev(t *testing.T) {
	rng := newRand(t)
	ctx := context.Background()
	h := rfc6962.DefaultHasher
	for trial := range 4 {
		n := 1 + rng.IntN(400)
		if trial == 0 {
			n = 40 // small enough for every pair below
		}
		store := newStore(t, rng, n)
		envs := readAll(t, store)
		roots := refRoots(t, envs)
		l := openLog(t, testConfig(t))
		cps := appendInBatches(t, l, envs, 1+rng.IntN(20), rng.IntN)

		if size, root := l.Size(); size != int64(n) || !bytes.Equal(root[:], roots[n]) {
			t.Fatalf("tree of %d leaves: size %d root %s, transparency-dev root %x", n, size, root, roots[n])
		}
		for _, c := range cps {
			if !bytes.Equal(c.Root[:], roots[c.Size]) {
				t.Fatalf("checkpoint %d root %s, transparency-dev %x", c.Size, c.Root, roots[c.Size])
			}
		}
		// Inclusion: every leaf in every checkpoint for the small tree, random ones otherwise.
		for _, c := range cps {
			var idx []int64
			if n <= 40 {
				for i := range c.Size {
					idx = append(idx, i)
				}
			} else {
				idx = []int64{0, c.Size - 1, rng.Int64N(c.Size), rng.Int64N(c.Size)}
			}
			for _, i := range idx {
				p, err := l.InclusionProof(ctx, i, c.Size)
				if err != nil {
					t.Fatal(err)
				}
				w, hashes := decodeWire(t, p)
				leaf, _ := base64.StdEncoding.DecodeString(w.LeafHash)
				entry, _ := Entry(envs[i])
				if !bytes.Equal(leaf, h.HashLeaf(entry)) {
					t.Fatalf("leaf %d: leafHash %x, want %x", i, leaf, h.HashLeaf(entry))
				}
				if err := proof.VerifyInclusion(h, uint64(w.Index), uint64(w.Size), leaf, hashes, c.Root[:]); err != nil {
					t.Fatalf("inclusion of %d in %d: %v", i, c.Size, err)
				}
				if len(hashes) > 0 {
					hashes[len(hashes)-1][0] ^= 1
					if proof.VerifyInclusion(h, uint64(i), uint64(c.Size), leaf, hashes, c.Root[:]) == nil {
						t.Fatalf("a corrupted inclusion proof verified")
					}
				}
			}
		}
		// Consistency between every pair of checkpoints, and from 0.
		for a := range cps {
			for b := a; b < len(cps); b++ {
				from, to := cps[a], cps[b]
				p, err := l.ConsistencyProof(ctx, from.Size, to.Size)
				if err != nil {
					t.Fatal(err)
				}
				w, hashes := decodeWire(t, p)
				if err := proof.VerifyConsistency(h, uint64(w.From), uint64(w.To), hashes, from.Root[:], to.Root[:]); err != nil {
					t.Fatalf("consistency %d → %d: %v", from.Size, to.Size, err)
				}
			}
			p, err := l.ConsistencyProof(ctx, 0, cps[a].Size)
			if err != nil || len(p.Hashes) != 0 {
				t.Fatalf("consistency from 0: %v %v", p, err)
			}
		}
	}
}

func TestProofRequestsOutOfRange(t *testing.T) {
	rng := newRand(t)
	store := newStore(t, rng, 10)
	l := openLog(t, testConfig(t))
	ctx := context.Background()
	if err := l.CatchUp(ctx, store); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]int64{{-1, 5}, {5, 5}, {0, 0}, {0, 11}, {10, 11}} {
		if _, err := l.InclusionProof(ctx, c[0], c[1]); !errors.Is(err, ErrBadRequest) {
			t.Errorf("InclusionProof(%d, %d): %v, want ErrBadRequest", c[0], c[1], err)
		}
	}
	for _, c := range [][2]int64{{-1, 5}, {6, 5}, {5, 11}} {
		if _, err := l.ConsistencyProof(ctx, c[0], c[1]); !errors.Is(err, ErrBadRequest) {
			t.Errorf("ConsistencyProof(%d, %d): %v, want ErrBadRequest", c[0], c[1], err)
		}
	}
	if p, err := l.InclusionProof(ctx, 0, 1); err != nil || len(p.Hashes) != 0 {
		t.Errorf("InclusionProof(0, 1) = %v, %v; want an empty proof", p, err)
	}
}
