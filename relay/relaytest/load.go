package relaytest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// LoadOptions configures [Load].
type LoadOptions struct {
	// PutURL and GetURL are the StorageService and RetrieveService URLs; they may point at
	// different relay instances sharing a store.
	PutURL, GetURL string
	// Workers is the number of concurrent put/get pairs. Zero means 50.
	Workers int
	// Duration bounds the run. Zero means 2 s.
	Duration time.Duration
	// MaxPairs bounds the number of pairs. Zero means 2,000,000.
	MaxPairs int
	// PayloadSize is the size of each payload. Zero means 256 bytes.
	PayloadSize int
	// RecheckEvery makes every n-th pair read its id a second time and expect ERR-06 (read
	// once). Zero means 4; negative disables it.
	RecheckEvery int
	// Client, when set, sends the requests through net/http. Nil means a minimal keep-alive
	// HTTP/1.1 client (one connection per worker and URL), which leaves more of the CPU to the
	// server under test.
	Client *http.Client
}

// LoadResult summarises a [Load] run.
type LoadResult struct {
	Pairs    int           // completed put+get pairs
	Requests int           // HTTP requests, rechecks included
	Elapsed  time.Duration // wall time
	// PairsPerSec and OpsPerSec are Pairs and Requests per second.
	PairsPerSec, OpsPerSec float64
	// P50 and P99 are per-request latencies.
	P50, P99 time.Duration
	// CPUPerPair is the CPU time (user+system) of the whole test process per pair: load
	// generator, handlers and store client together; zero where it is not measured. On a shared
	// machine it is a steadier figure than the rate: 1s/CPUPerPair is the pair rate one idle
	// core would sustain.
	CPUPerPair time.Duration
	// Lost counts acknowledged puts whose get did not return the payload; Corrupted gets that
	// returned another payload; Duplicated second reads that returned data; Errors transport or
	// unexpected answers.
	Lost, Corrupted, Duplicated, Errors int
}

// String formats the result on one line for test logs.
func (r LoadResult) String() string {
	return fmt.Sprintf("%d pairs (%d requests) in %v: %.0f pairs/s, %.0f ops/s, p50 %v, p99 %v, CPU %v/pair; lost %d, corrupted %d, duplicated %d, errors %d",
		r.Pairs, r.Requests, r.Elapsed.Round(time.Millisecond), r.PairsPerSec, r.OpsPerSec,
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.CPUPerPair.Round(100*time.Nanosecond),
		r.Lost, r.Corrupted, r.Duplicated, r.Errors)
}

// Load runs concurrent put/get pairs through the relay handlers over HTTP: each worker puts a
// unique payload under a unique id, reads it back, checks it byte for byte, and now and then
// reads the id again expecting ERR-06. It stops at Duration or MaxPairs.
func Load(tb testing.TB, o LoadOptions) LoadResult {
	tb.Helper()
	if o.Workers <= 0 {
		o.Workers = 50
	}
	if o.Duration <= 0 {
		o.Duration = 2 * time.Second
	}
	if o.MaxPairs <= 0 {
		o.MaxPairs = 2_000_000
	}
	if o.PayloadSize <= 0 {
		o.PayloadSize = 256
	}
	if o.RecheckEvery == 0 {
		o.RecheckEvery = 4
	}
	client := o.Client
	ctx, cancel := context.WithTimeout(context.Background(), o.Duration)
	defer cancel()
	var (
		next    atomic.Int64
		mu      sync.Mutex
		total   LoadResult
		allLats []time.Duration
		wg      sync.WaitGroup
	)
	filler := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"), o.PayloadSize/64+1)
	start, cpu0 := time.Now(), processCPU()
	for w := range o.Workers {
		wg.Go(func() {
			var res LoadResult
			lats := make([]time.Duration, 0, 4096)
			buf := make([]byte, 0, 512)
			body := make([]byte, 0, o.PayloadSize+128)
			var putConn, getConn *rawConn
			if client == nil {
				var err error
				if putConn, err = newRawConn(o.PutURL); err == nil {
					getConn, err = newRawConn(o.GetURL)
				}
				if err != nil {
					tb.Errorf("load: %v", err)
					return
				}
				defer putConn.close()
				defer getConn.close()
			}
			do := func(url string, b []byte) (string, bool) {
				t0 := time.Now()
				var code int
				var err error
				if client == nil {
					conn := putConn
					if url == o.GetURL {
						conn = getConn
					}
					buf, code, err = conn.post(b, buf)
				} else {
					var req *http.Request
					req, err = http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(b))
					if err != nil {
						return "", false
					}
					req.Header["Content-Type"] = []string{"application/x-www-form-urlencoded"}
					var resp *http.Response
					if resp, err = client.Do(req); err == nil {
						buf, err = readAllInto(buf[:0], resp.Body)
						resp.Body.Close()
						code = resp.StatusCode
					}
				}
				lats = append(lats, time.Since(t0))
				res.Requests++
				return string(buf), err == nil && code == 200
			}
			for ctx.Err() == nil {
				n := next.Add(1)
				if n > int64(o.MaxPairs) {
					break
				}
				id := "L" + strconv.Itoa(w) + "x" + strconv.FormatInt(n, 36)
				payload := append([]byte(id+"-"), filler[:o.PayloadSize-len(id)-1]...)
				body = append(body[:0], "op=put&v=1_0&id="...)
				body = append(body, id...)
				body = append(body, "&dat="...)
				body = append(body, payload...)
				ans, ok := do(o.PutURL, body)
				if !ok || ans != "OK" {
					res.Errors++
					continue
				}
				body = append(body[:0], "op=get&v=1_0&id="...)
				body = append(body, id...)
				ans, ok = do(o.GetURL, body)
				switch {
				case !ok:
					res.Errors++
				case len(ans) >= 6 && ans[:6] == "ERR-06":
					res.Lost++
				case ans != string(payload)+"\n":
					res.Corrupted++
				default:
					res.Pairs++
				}
				if o.RecheckEvery > 0 && n%int64(o.RecheckEvery) == 0 {
					ans, ok = do(o.GetURL, body)
					if !ok {
						res.Errors++
					} else if len(ans) < 6 || ans[:6] != "ERR-06" {
						res.Duplicated++
					}
				}
			}
			mu.Lock()
			total.Pairs += res.Pairs
			total.Requests += res.Requests
			total.Lost += res.Lost
			total.Corrupted += res.Corrupted
			total.Duplicated += res.Duplicated
			total.Errors += res.Errors
			allLats = append(allLats, lats...)
			mu.Unlock()
		})
	}
	wg.Wait()
	total.Elapsed = time.Since(start)
	if cpu := processCPU() - cpu0; cpu > 0 && total.Pairs > 0 {
		total.CPUPerPair = cpu / time.Duration(total.Pairs)
	}
	secs := total.Elapsed.Seconds()
	total.PairsPerSec = float64(total.Pairs) / secs
	total.OpsPerSec = float64(total.Requests) / secs
	if len(allLats) > 0 {
		slices.Sort(allLats)
		total.P50 = allLats[len(allLats)/2]
		total.P99 = allLats[min(len(allLats)-1, len(allLats)*99/100)]
	}
	return total
}

func readAllInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
