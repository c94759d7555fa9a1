package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/groundwork-go/groundwork/logship"
)

// readIndex waits until the Indexer has stored every record, then reads
// a few back, showing what redaction left of the customer's data.
func (p *pipeline) readIndex(ctx context.Context, w io.Writer) error {
	es, pattern := p.b.es, p.b.search
	var n int
	err := waitFor(ctx, "indexing every record", func() (bool, error) {
		var err error
		n, err = count(ctx, es, pattern)
		return n >= p.shipped, err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n-- Elasticsearch holds %d documents, one per record shipped\n", n)
	docs, err := documents(ctx, es, pattern, n)
	if err != nil {
		return err
	}
	clear := 0 // documents still holding the e-mail or the card number
	levels := map[string]int{}
	for _, d := range docs {
		levels[d.str("log.level")]++
		p.indexed[d.str("event.id")] = true
		// The whole document, every field: redaction must have left the
		// values nowhere, not merely out of "customer" and "card".
		raw := fmt.Sprint(map[string]any(d))
		if strings.Contains(raw, customerEmail) || strings.Contains(raw, customerCard) ||
			strings.Contains(raw, strings.ReplaceAll(customerCard, " ", "")) {
			clear++
		}
	}
	fmt.Fprintf(w, "   by level: %d debug, %d info, %d error\n", levels["debug"], levels["info"], levels["error"])
	for _, order := range []string{"A-0002", "A-0121"} {
		d := find(docs, order)
		if d == nil {
			return fmt.Errorf("order %s is not in the index", order)
		}
		what := "card=" + d.str("card")
		if e := d.str("error.message"); e != "" {
			what = fmt.Sprintf("error.message=%q", e)
		}
		fmt.Fprintf(w, "   %-5s %-16q order=%s customer=%s %s\n", d.str("log.level"), d.str("message"), order, d.str("customer"), what)
		fmt.Fprintf(w, "         service %s %s (%s), trace.id %s\n",
			d.str("service.name"), d.str("service.version"), d.str("service.environment"), d.str("trace.id"))
	}
	fmt.Fprintf(w, "   documents holding the e-mail address or the card number in the clear: %d\n", clear)
	return nil
}

// find is the document of order id, nil if none.
func find(docs []document, id string) document {
	for _, d := range docs {
		if d.str("order") == id {
			return d
		}
	}
	return nil
}

// readArchive waits until the Archiver has written every record, then
// streams the service's hour(s) back with ReadArchive.
func (p *pipeline) readArchive(ctx context.Context, w io.Writer) error {
	// The records were logged in this hour, or in two when the run
	// crossed the hour: read from the run's start to the end of the hour.
	from := p.start.Truncate(time.Hour)
	to := time.Now().Truncate(time.Hour).Add(time.Hour)
	var recs []logship.Record
	err := waitFor(ctx, "archiving every record", func() (bool, error) {
		var err error
		recs, err = collect(logship.ReadArchive(ctx, p.b.archive, p.b.archivePrefix, "checkout", from, to))
		return len(recs) >= p.shipped, err
	})
	if err != nil {
		return err
	}
	errs, same := 0, 0
	for _, r := range recs {
		if r.Level >= slog.LevelError {
			errs++
		}
		if p.indexed[r.ID] {
			same++
		}
	}
	fmt.Fprintf(w, "\n-- ReadArchive of checkout for the hour: %d records, %d of them errors; %d with the event id of an indexed document\n", len(recs), errs, same)
	return nil
}
