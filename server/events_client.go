package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxEvent bounds one event the client reads from a progress stream.
const maxEvent = 4 << 20

// Events follows the progress of announcement id through its event
// stream (GET /api/v1/announcements/{id}/events): it calls fn with each
// status the server sends, the last of them Done, and then returns nil.
// An error from fn ends it with that error. A refused stream is the
// server's error (forbidden, not_found, too_many_requests); a stream that
// ends before its last status is an error, and so is ctx ending. The
// client's HTTP client must have no overall Timeout, which would cut the
// stream.
func (c *Client) Events(ctx context.Context, id string, fn func(*Status) error) error {
	req, err := c.newRequest(ctx, http.MethodGet, "/api/v1/announcements/"+url.PathEscape(id)+"/events", nil, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("api request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return responseError(req, resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxEvent)
	var name, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && data != "":
			var st Status
			if err := json.Unmarshal([]byte(data), &st); err != nil {
				return fmt.Errorf("decode event of %s: %w", req.URL.Path, err)
			}
			if err := fn(&st); err != nil {
				return err
			}
			if name == "done" {
				return nil
			}
			name, data = "", ""
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err = sc.Err()
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	if errors.Is(err, bufio.ErrTooLong) {
		err = fmt.Errorf("an event is larger than %d bytes", maxEvent)
	}
	return fmt.Errorf("progress of %s ended early: %w", id, err)
}
