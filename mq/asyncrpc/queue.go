package asyncrpc

import (
	"errors"
	"sync"
)

var (
	errQueueFull    = errors.New("the server's queue is full")
	errShuttingDown = errors.New("the server is shutting down")
)

// queue holds accepted jobs until a worker takes them, bounded by count
// and by bytes so that a burst is absorbed but memory is not. Workers are
// started on demand, up to maxWorkers, and end when the queue is empty, so
// an idle server holds no goroutine.
type queue struct {
	maxJobs    int
	maxBytes   int64
	maxWorkers int
	run        func(*job)

	mu      sync.Mutex
	jobs    []*job // FIFO
	bytes   int64  // sum of the queued jobs' sizes
	workers int
	closed  bool
	wg      sync.WaitGroup // running workers
}

// push queues j, or returns errQueueFull or errShuttingDown.
func (q *queue) push(j *job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return errShuttingDown
	case len(q.jobs) >= q.maxJobs || q.bytes+j.size > q.maxBytes:
		return errQueueFull
	}
	q.jobs = append(q.jobs, j)
	q.bytes += j.size
	if q.workers < q.maxWorkers {
		q.workers++
		q.wg.Add(1)
		go q.work()
	}
	return nil
}

func (q *queue) work() {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.workers--
			q.jobs = nil // let the drained backing array go
			q.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs[0] = nil
		q.jobs = q.jobs[1:]
		q.bytes -= j.size
		q.mu.Unlock()
		q.run(j)
	}
}

// close refuses further jobs and returns a channel closed once the
// workers have run every queued job and ended.
func (q *queue) close() <-chan struct{} {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	idle := make(chan struct{})
	go func() { q.wg.Wait(); close(idle) }()
	return idle
}
