package ledger

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestBlockStateScanMergesWritesAndDeletes(t *testing.T) {
	store, err := OpenStore(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b := newBlockState(store)
	for _, k := range []string{"p/b", "p/d", "p/f", "q/x"} {
		b.set([]byte(k), []byte("old-"+k))
	}
	if err := b.commit(1, []byte("h")); err != nil {
		t.Fatal(err)
	}

	b = newBlockState(store)
	b.set([]byte("p/a"), []byte("new"))   // before every committed key
	b.delete([]byte("p/d"))               // a committed key deleted
	b.set([]byte("p/f"), []byte("new-f")) // a committed key overwritten
	b.set([]byte("p/e"), nil)             // an empty value is present
	b.set([]byte("p/z"), []byte("last"))  // after every committed key
	b.set([]byte("p/y"), []byte("gone"))
	b.delete([]byte("p/y")) // written then deleted in the same block

	var got []string
	if err := b.scan([]byte("p/"), func(k, v []byte) error {
		got = append(got, fmt.Sprintf("%s=%s", k, v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := "p/a=new p/b=old-p/b p/e= p/f=new-f p/z=last"
	if strings.Join(got, " ") != want {
		t.Fatalf("scan = %q\nwant   %q", strings.Join(got, " "), want)
	}
	if v, _ := b.get([]byte("p/d")); v != nil {
		t.Fatal("deleted key still readable in the block")
	}
	if err := b.commit(2, []byte("h2")); err != nil {
		t.Fatal(err)
	}
	if v, _ := store.get([]byte("p/d")); v != nil {
		t.Fatal("deleted key still present after commit")
	}
	if v, _ := store.get([]byte("p/e")); v == nil {
		t.Fatal("empty value read back as absent")
	}
}
