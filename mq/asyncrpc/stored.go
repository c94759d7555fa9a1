package asyncrpc

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// storedResponse is a response as the idempotency store keeps it, so that
// a repeat of a completed call can be answered without running it again.
type storedResponse struct {
	Status int         `json:"s"`
	Header http.Header `json:"h,omitempty"`
	Body   []byte      `json:"b,omitempty"`
}

func encodeStored(r *Response) ([]byte, error) {
	b, err := json.Marshal(storedResponse{Status: r.StatusCode, Header: r.Header, Body: r.Body})
	if err != nil {
		return nil, fmt.Errorf("asyncrpc: encode response for the store: %w", err)
	}
	return b, nil
}

// decodeStored reads what encodeStored wrote. The store is shared with
// other processes, so its content is checked like outside input.
func decodeStored(b []byte) (*Response, error) {
	var s storedResponse
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: stored response: %v", ErrBadResponse, err)
	}
	if s.Status < 100 || s.Status > 999 {
		return nil, fmt.Errorf("%w: stored response has status %d", ErrBadResponse, s.Status)
	}
	return &Response{StatusCode: s.Status, Header: s.Header, Body: s.Body}, nil
}
