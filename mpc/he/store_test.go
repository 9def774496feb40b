package he

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestStores(t *testing.T) {
	ctx := context.Background()
	fs, err := NewFileStore(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]KeyStore{"memory": NewMemoryStore(), "file": fs} {
		if _, err := s.Get(ctx, "he-x-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: missing key: want ErrNotFound, got %v", name, err)
		}
		if err := s.Put(ctx, "he-x-1", []byte("v1")); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, "he-x-1", []byte("v2")); err != nil {
			t.Fatal(err)
		}
		if v, err := s.Get(ctx, "he-x-1"); err != nil || string(v) != "v2" {
			t.Fatalf("%s: got %q, %v", name, v, err)
		}
	}
	for _, bad := range []string{"", "..", "a/b", "../x"} {
		if err := fs.Put(ctx, bad, nil); err == nil {
			t.Fatalf("file store accepted key %q", bad)
		}
	}
	st, err := os.Stat(filepath.Join(fs.dir, "he-x-1"))
	if err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Fatalf("stored key is readable by others: %v %v", st.Mode(), err)
	}
}
