package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/localstore"
	_ "github.com/groundwork-go/groundwork/filestore/s3store"
	"github.com/groundwork-go/groundwork/logship/estest"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/kafkamq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	_ "github.com/groundwork-go/groundwork/mq/redismq"
)

// backends are the pipeline's three stores: the broker the logs travel
// through, the Elasticsearch they are indexed into, the filestore the
// archive goes to. Each is the embedded default unless an environment
// variable names a real one:
//
//	GROUNDWORK_KAFKA_BROKERS  host:9092,...         Kafka (before Redis)
//	GROUNDWORK_REDIS_URL      redis://host:6379/0   Redis Streams
//	GROUNDWORK_ES_URL         http://host:9200      an Elasticsearch cluster
//	GROUNDWORK_ARCHIVE_URL    s3://bucket?...       any filestore URL
//
// Names on a real server (topic, indices, template, archive prefix) carry
// this run's id, so that an earlier run's logs are not counted as this
// one's; the indices, template, policy and archive objects are deleted at
// the end (a topic on Kafka or Redis stays: mq has no call to delete one).
type backends struct {
	broker  *mq.Client
	es      *elasticsearch.Client
	archive *filestore.Store

	topic         string // the log topic
	index         string // the Indexer's index pattern
	template      string // the index template's and ILM policy's name
	archivePrefix string // where in the archive store
	search        string // the index pattern that finds this run's documents

	about   string // one line: which backends this run uses
	closers []func()
}

func openBackends(ctx context.Context) (b *backends, err error) {
	b = &backends{topic: "logs", index: "logs-{service}-{2006.01.02}", template: "logship", archivePrefix: "logs", search: "logs-*"}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	run := fmt.Sprintf("run%d", time.Now().UnixNano())

	brokerURL, broker := "mem://logpipeline", "mem:// (in-process)"
	if v := os.Getenv("GROUNDWORK_KAFKA_BROKERS"); v != "" {
		brokerURL, broker = "kafka://"+v, "Kafka"
	} else if v := os.Getenv("GROUNDWORK_REDIS_URL"); v != "" {
		brokerURL, broker = v, "Redis"
	}
	if broker == "Kafka" || broker == "Redis" {
		b.topic = "logs-" + run
	}
	if b.broker, err = mq.Open(ctx, brokerURL); err != nil {
		return b, err
	}
	b.closers = append(b.closers, func() { b.broker.Close() })

	store := "an in-process Elasticsearch test double (logship/estest)"
	if v := os.Getenv("GROUNDWORK_ES_URL"); v != "" {
		store = "Elasticsearch"
		b.index = "logpipeline-" + run + "-{service}-{2006.01.02}"
		b.search = "logpipeline-" + run + "-*"
		b.template = "logpipeline-" + run
		b.es, err = elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{v}, DisableRetry: true})
		b.closers = append(b.closers, b.dropIndices)
	} else {
		// A test double, not an Elasticsearch: it keeps documents in
		// memory and answers the calls logship makes (and the count
		// and read-back below), enough to see the pipeline work.
		srv := estest.New(nil, nil)
		b.closers = append(b.closers, srv.Close)
		b.es, err = srv.Client()
	}
	if err != nil {
		return b, err
	}

	archiveURL, archive := os.Getenv("GROUNDWORK_ARCHIVE_URL"), "a filestore"
	if archiveURL != "" {
		b.archivePrefix = "logpipeline-" + run
	} else {
		dir, err := os.MkdirTemp("", "logpipeline-archive-")
		if err != nil {
			return b, err
		}
		b.closers = append(b.closers, func() { os.RemoveAll(dir) })
		archiveURL, archive = fileURL(dir), "a temporary directory (file://)"
	}
	if b.archive, err = filestore.Open(ctx, archiveURL); err != nil {
		return b, err
	}
	b.closers = append(b.closers, func() { b.archive.Close() })
	if os.Getenv("GROUNDWORK_ARCHIVE_URL") != "" {
		b.closers = append(b.closers, b.dropArchive)
	}

	b.about = fmt.Sprintf("broker %s, store %s, archive in %s", broker, store, archive)
	return b, nil
}

// dropIndices removes from a real cluster what this run put there: its
// indices, index template and ILM policy. Best effort: the run is over.
func (b *backends) dropIndices() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, req := range []esapi.Request{
		esapi.IndicesDeleteRequest{Index: []string{b.search}},
		esapi.IndicesDeleteIndexTemplateRequest{Name: b.template},
		esapi.ILMDeleteLifecycleRequest{Policy: b.template},
	} {
		_ = esCall(ctx, b.es, req, nil)
	}
}

// dropArchive removes this run's objects from an archive store it was
// given. Best effort.
func (b *backends) dropArchive() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for info, err := range b.archive.List(ctx, b.archivePrefix+"/") {
		if err != nil {
			return
		}
		_ = b.archive.Delete(ctx, info.Name)
	}
}

// close closes what openBackends opened, last opened first.
func (b *backends) close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
}

// fileURL is the file:// URL of dir (file:///C:/... on Windows).
func fileURL(dir string) string {
	p := filepath.ToSlash(dir)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}
