package memstore_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/memstore"
	"github.com/groundwork-go/groundwork/filestore/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, storetest.Harness{
		NewStore: func(t *testing.T, opts ...filestore.Option) *filestore.Store {
			s, err := filestore.Open(context.Background(), "mem://", opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		FileAndDirSameName: true,
	})
}

func TestURL(t *testing.T) {
	for _, u := range []string{"mem://x?a=b", "mem:///some/path"} {
		if _, err := filestore.Open(context.Background(), u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	_ = memstore.Scheme
}
