package invocation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/trifirma/trifirma/invocation/cipher"
)

// DefaultMaxURLLength is the longest invocation URL [Client.Prepare] returns before moving the
// parameters to the intermediate server: the reference JavaScript's MAX_LONG_GENERAL_URL.
const DefaultMaxURLLength = 2000

// DefaultProtocolVersion is the "ver" written when [Client.ProtocolVersion] is empty.
const DefaultProtocolVersion = "3"

// ErrURLTooLong reports that even the short fileid URL exceeds the maximum length.
var ErrURLTooLong = errors.New("invocation: invocation URL too long")

// ErrRelay reports an intermediate server that failed or answered something unexpected.
var ErrRelay = errors.New("invocation: intermediate server error")

// PollOptions tunes [Client.Wait]. The zero value is usable.
type PollOptions struct {
	// Initial is the first wait before polling and the first interval. Zero means 1 s.
	Initial time.Duration
	// Max is the longest interval; the interval grows by half after each empty poll. Zero
	// means 3 s (the reference page polls every 3 s).
	Max time.Duration
	// Patience is how long Wait goes on without any news: it restarts when the app stores
	// "#WAIT". Zero means 60 s (the reference page gives up after 10-15 polls).
	Patience time.Duration
}

// Client prepares invocations that use the intermediate server and reads their results. Its
// fields must not change while it is used; it is safe for concurrent use otherwise.
type Client struct {
	// StorageURL is the StorageService URL (written as "stservlet"); required.
	StorageURL string
	// RetrieveURL is the RetrieveService URL ("rtservlet"); required to read results and for
	// long invocations.
	RetrieveURL string
	// HTTPClient performs the requests. Nil means http.DefaultClient.
	HTTPClient *http.Client

	// JSVersion, MinClientVersion, ProtocolVersion and AppName fill the corresponding [Common]
	// fields. An empty ProtocolVersion means [DefaultProtocolVersion].
	JSVersion, MinClientVersion, ProtocolVersion, AppName string
	// ActiveWaiting writes "aw=true" (see [Common.ActiveWaiting]).
	ActiveWaiting bool
	// AES adds the newer AES cipher ("cipher" parameter) besides the DES key, as the reference
	// page does in secure contexts. AutoFirma versions without AES ignore it and use DES.
	AES bool
	// MaxURLLength is the longest URL returned as is. Zero means [DefaultMaxURLLength].
	MaxURLLength int
	// Poll tunes Wait.
	Poll PollOptions
	// Rand is the source of ids and keys. Nil means crypto/rand.
	Rand io.Reader
}

// Invocation is a prepared operation: the URL to open (or to show as a QR code) and what is
// needed to read its result.
type Invocation struct {
	// URL is the afirma:// URL to open.
	URL URL
	// Op is the operation.
	Op Operation
	// ID is the id under which the app stores the result.
	ID string
	// FileID is the id under which the parameters were uploaded, when the full URL was too
	// long; empty otherwise.
	FileID string
	// Cipher is the session cipher: [*cipher.DES], or [*cipher.AES] when Client.AES is set.
	Cipher cipher.Cipher
}

// String returns the URL text.
func (inv *Invocation) String() string { return inv.URL.String() }

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// NewID returns a random 20-character alphanumeric id, the form AutoFirma accepts (it refuses
// longer or non-alphanumeric ids). A nil r means crypto/rand.
func NewID(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	out := make([]byte, 20)
	var b [1]byte
	for i := range out {
		for {
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return "", fmt.Errorf("invocation: generating an id: %w", err)
			}
			if b[0] < 248 { // 248 = 4*62: unbiased
				out[i] = idAlphabet[b[0]%62]
				break
			}
		}
	}
	return string(out), nil
}

// Prepare builds the invocation of req: a fresh result id and key, the full URL, and, when that
// URL is longer than MaxURLLength, the upload of the parameters (as the ciphered XML document) to
// StorageService and the short "fileid" URL instead.
func (c *Client) Prepare(ctx context.Context, req Request) (*Invocation, error) {
	if c.StorageURL == "" {
		return nil, fmt.Errorf("%w: the client has no StorageURL", ErrInvalidRequest)
	}
	id, err := NewID(c.Rand)
	if err != nil {
		return nil, err
	}
	inv := &Invocation{Op: req.Op, ID: id}
	var des *cipher.DES
	var cipherParam string
	if c.AES {
		a, err := cipher.GenerateAES(c.Rand)
		if err != nil {
			return nil, err
		}
		des, cipherParam, inv.Cipher = a.Legacy(), a.Param(), a
	} else {
		key, err := cipher.GenerateDESKey(c.Rand)
		if err != nil {
			return nil, err
		}
		if des, err = cipher.NewDES(key); err != nil {
			return nil, err
		}
		inv.Cipher = des
	}
	ver := c.ProtocolVersion
	if ver == "" {
		ver = DefaultProtocolVersion
	}
	full, err := req.URL(Common{
		JSVersion:        c.JSVersion,
		MinClientVersion: c.MinClientVersion,
		ProtocolVersion:  ver,
		ID:               id,
		Key:              des.Key(),
		Cipher:           cipherParam,
		StorageURL:       c.StorageURL,
		AppName:          c.AppName,
		ActiveWaiting:    c.ActiveWaiting,
	})
	if err != nil {
		return nil, err
	}
	max := c.MaxURLLength
	if max <= 0 {
		max = DefaultMaxURLLength
	}
	if len(full.String()) <= max {
		inv.URL = full
		return inv, nil
	}
	if c.RetrieveURL == "" {
		return nil, fmt.Errorf("%w: URL of %d characters needs the intermediate server, but the client has no RetrieveURL", ErrURLTooLong, len(full.String()))
	}
	if inv.FileID, err = NewID(c.Rand); err != nil {
		return nil, err
	}
	if err := c.Put(ctx, inv.FileID, inv.Cipher.Encrypt(full.XML())); err != nil {
		return nil, err
	}
	short := FileIDURL(req.Op, inv.FileID, c.RetrieveURL, des.Key(), cipherParam)
	if c.JSVersion != "" || c.MinClientVersion != "" {
		var head URL
		head.add("jvc", c.JSVersion)
		head.add("mcv", c.MinClientVersion)
		short.Params = append(head.Params, short.Params...)
	}
	if n := len(short.String()); n > max {
		return nil, fmt.Errorf("%w: even the fileid URL has %d characters (max %d)", ErrURLTooLong, n, max)
	}
	inv.URL = short
	return inv, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

// maxAnswer bounds what is read from the intermediate server.
const maxAnswer = 64 << 20

func (c *Client) post(ctx context.Context, url, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrRelay, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrRelay, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return "", fmt.Errorf("%w: reading the answer: %w", ErrRelay, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: HTTP %d from %s", ErrRelay, resp.StatusCode, url)
	}
	if len(b) > maxAnswer {
		return "", fmt.Errorf("%w: answer larger than %d bytes", ErrRelay, maxAnswer)
	}
	return string(b), nil
}

// FileIDURL returns the short invocation URL that makes the app download its parameters from
// the intermediate server: "afirma://op?fileid=...&rtservlet=...&key=...[&cipher=...]". The
// document stored under fileID must be the operation's XML ([URL.XML]) ciphered with the key
// (and the AES configuration cipherParam, when not empty).
func FileIDURL(op Operation, fileID, retrieveURL, key, cipherParam string) URL {
	u := URL{Op: string(op)}
	u.add("fileid", fileID)
	u.add("rtservlet", retrieveURL)
	u.add("key", key)
	u.add("cipher", cipherParam)
	return u
}

// Put stores text under id on StorageService (op=put), as the page does for long invocations
// and the app for results. text is percent-encoded, so any content round-trips.
func (c *Client) Put(ctx context.Context, id, text string) error {
	ans, err := c.post(ctx, c.StorageURL, "op=put&v=1_0&id="+EncodeURIComponent(id)+"&dat="+EncodeURIComponent(text))
	if err != nil {
		return err
	}
	if ans != "OK" {
		return fmt.Errorf("%w: StorageService answered %.80q", ErrRelay, strings.TrimSpace(ans))
	}
	return nil
}

// Get reads (and so deletes) the text stored under id on RetrieveService (op=get) and returns it
// without the line feed the service appends. A missing entry is not an error here: the ERR-06
// text is returned as is (see [ParseResult]).
func (c *Client) Get(ctx context.Context, id string) (string, error) {
	if c.RetrieveURL == "" {
		return "", fmt.Errorf("%w: the client has no RetrieveURL", ErrInvalidRequest)
	}
	ans, err := c.post(ctx, c.RetrieveURL, "op=get&v=1_0&id="+EncodeURIComponent(id))
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(ans, "\n"), nil
}

// Wait polls RetrieveService for the result of inv until it arrives, the app reports an error
// or a cancellation, the patience runs out ([ErrTimeout]) or ctx ends. The interval starts at
// Poll.Initial and grows to Poll.Max; "#WAIT" restarts the patience. Transport failures are
// retried within the patience; the last one is joined to ErrTimeout.
func (c *Client) Wait(ctx context.Context, inv *Invocation) (*Result, error) {
	initial, maxIv, patience := c.Poll.Initial, c.Poll.Max, c.Poll.Patience
	if initial <= 0 {
		initial = time.Second
	}
	if maxIv <= 0 {
		maxIv = 3 * time.Second
	}
	if maxIv < initial {
		maxIv = initial
	}
	if patience <= 0 {
		patience = 60 * time.Second
	}
	interval := initial
	deadline := time.Now().Add(patience)
	timer := time.NewTimer(initial)
	defer timer.Stop()
	var lastErr error
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
		}
		text, err := c.Get(ctx, inv.ID)
		if err == nil {
			res, perr := ParseResult(inv.Op, text, inv.Cipher)
			switch {
			case perr == nil:
				return res, nil
			case errors.Is(perr, ErrInProgress):
				deadline = time.Now().Add(patience)
				interval = initial
			case !errors.Is(perr, ErrNotReady):
				return nil, perr
			}
		} else {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = err
		}
		if !time.Now().Before(deadline) {
			if lastErr != nil {
				return nil, errors.Join(ErrTimeout, lastErr)
			}
			return nil, ErrTimeout
		}
		timer.Reset(min(interval, time.Until(deadline)+time.Millisecond))
		interval = min(interval+interval/2, maxIv)
	}
}
