package estest_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/groundwork-go/groundwork/logship/estest"
)

// A test stages a mapping error for one document and reads back what
// was stored.
func Example() {
	srv := estest.New(nil, nil)
	defer srv.Close()
	es, _ := srv.Client()
	srv.FailDocument("b", 400, "mapper_parsing_exception", "failed to parse field [n]", -1)
	body := `{"index":{"_index":"logs-a","_id":"a"}}
{"n":1}
{"index":{"_index":"logs-a","_id":"b"}}
{"n":"x"}
`
	res, err := esapi.BulkRequest{Body: strings.NewReader(body)}.Do(context.Background(), es)
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	fmt.Println(res.StatusCode, srv.Count("logs-*"), string(srv.Docs("logs-a")["a"]))
	// Output: 200 1 {"n":1}
}
