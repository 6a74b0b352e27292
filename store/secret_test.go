package store_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/arena-dev/arena/internal/pgtest"
	"github.com/arena-dev/arena/store"
)

func TestSecretIsCreatedOnceAndShared(t *testing.T) {
	t.Parallel()
	s := pgtest.NewStore(t)
	ctx := context.Background()
	// Workers starting together must all get the one secret that won.
	got := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.Secret(ctx, store.SecretHiddenSeeds)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for i, v := range got {
		if len(v) != 32 || !bytes.Equal(v, got[0]) {
			t.Fatalf("caller %d got %x, caller 0 %x", i, v, got[0])
		}
	}
	if again, err := s.Secret(ctx, store.SecretHiddenSeeds); err != nil || !bytes.Equal(again, got[0]) {
		t.Errorf("a later call got %x (%v)", again, err)
	}
	if other, err := s.Secret(ctx, "another"); err != nil || bytes.Equal(other, got[0]) {
		t.Errorf("another secret: %x (%v)", other, err)
	}
}
