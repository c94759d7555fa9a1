package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/memstore"
)

func files(ctx context.Context) error {
	fmt.Println("\n== filestore: one file API, and a storage service over several backends")
	// Two in-memory stores stand in for the NFS and S3 a deployment
	// would open with nfs://... and s3://...; the backends' names are
	// ours, and the policy refers to them.
	fast, err := filestore.Open(ctx, "mem://")
	if err != nil {
		return err
	}
	defer fast.Close()
	bulk, err := filestore.Open(ctx, "mem://")
	if err != nil {
		return err
	}
	defer bulk.Close()
	policy := filestore.Policy{
		Rules: []filestore.Rule{{MaxSize: filestore.LargeFile, Priorities: []filestore.Priority{filestore.PriorityLatency},
			Backends: []string{"fast", "bulk"}}},
		Otherwise: []string{"bulk", "fast"},
	}
	svc, err := filestore.NewService(filestore.ServiceOptions{
		Backends: []filestore.Backend{{Name: "fast", Store: fast}, {Name: "bulk", Store: bulk}},
		Policy:   policy,
	})
	if err != nil {
		return err
	}
	defer svc.Close()

	section("a Writer: content produced by writing is stored whole on Close, or not at all")
	w, err := fast.NewWriter(ctx, "reports/daily.csv", &filestore.PutOptions{ContentType: "text/csv"})
	if err != nil {
		return err
	}
	report := csv.NewWriter(w)
	_ = report.WriteAll([][]string{{"region", "orders"}, {"north", "42"}, {"south", "17"}})
	if _, err := fast.Stat(ctx, "reports/daily.csv"); errors.Is(err, fs.ErrNotExist) {
		fmt.Println("   before Close: nothing under the name")
	}
	if err := errors.Join(report.Error(), w.Close()); err != nil { // a failed write: Close discards
		return err
	}
	fmt.Printf("   after Close: %d bytes, sha256 %x...\n", w.Info().Size, w.Info().SHA256[:4])

	section("uploads go where the policy sends them; each gets its SHA-256 on the way")
	rec, err := svc.Upload(ctx, strings.NewReader("bytes"), filestore.UploadOptions{Name: "thumbnail.png", Size: 5, Priority: filestore.PriorityLatency})
	if err != nil {
		return err
	}
	fmt.Printf("   %s, small, latency first -> backend %q, sha256 %x...\n", rec.Name, rec.Backend, rec.SHA256[:4])
	archive := filestore.UploadOptions{Name: "backup.tar", Size: 2_000_000_000, Priority: filestore.PriorityArchive}
	fmt.Printf("   a 2 GB archive would go to %q (the policy's first choice)\n", policy.Choose(archive)[0])

	section("a resumable upload: parts are stored as they come, Complete assembles them")
	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "video.mp4"})
	if err != nil {
		return err
	}
	for n, part := range []string{"part one, ", "part two"} {
		if _, err := up.WritePart(ctx, n+1, strings.NewReader(part)); err != nil {
			return err
		}
	}
	up, err = svc.ResumeUpload(ctx, up.ID()) // as another process would, after a restart
	if err != nil {
		return err
	}
	parts, _ := up.Parts(ctx)
	fmt.Printf("   resumed with %d parts stored\n", len(parts))
	done, err := up.Complete(ctx)
	if err != nil {
		return err
	}
	rd, rec, err := svc.Download(ctx, done.ID)
	if err != nil {
		return err
	}
	defer rd.Close()
	var got bytes.Buffer
	if _, err := io.Copy(&got, rd); err != nil {
		return err
	}
	fmt.Printf("   %s: %q (%d bytes)\n", rec.Name, got.String(), rec.Size)
	return nil
}
