package server

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/schedule"
)

// PublishAt asks the server to publish a at publishAt. A time in the
// future is checked and rendered now, and stored as a one-off schedule
// whose id is the announcement's; a time at most a minute ago publishes at
// once, and the result then has no Schedule; an older one is refused. A
// non-empty idempotencyKey makes a repeated call return the first result.
// A notice that a pending schedule publishes at the same time already is
// refused with an ECONFLICT error (detail code schedule.CodeRepeat) unless
// again is true.
func (c *Client) PublishAt(ctx context.Context, a *crier.Announcement, publishAt time.Time, idempotencyKey string, again bool) (*ScheduledResult, error) {
	var res ScheduledResult
	in := publishAtRequest{Announcement: *a, PublishAt: publishAt}
	if err := c.createQuery(ctx, "/api/v1/announcements", againQuery(again), in, idempotencyKey, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// CreateSchedule stores a schedule (Spec or At, Until, ExpiresAfter and
// the Announcement; the server sets the rest) and returns it. Every
// problem is listed in one EINVALID error. A non-empty idempotencyKey
// makes a repeated call return the first schedule. A schedule that
// publishes what a pending one publishes at the same times is refused with
// an ECONFLICT error (detail code schedule.CodeRepeat) unless again is true.
func (c *Client) CreateSchedule(ctx context.Context, sc *crier.Schedule, idempotencyKey string, again bool) (*crier.Schedule, error) {
	var out crier.Schedule
	if err := c.createQuery(ctx, "/api/v1/schedules", againQuery(again), sc, idempotencyKey, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func againQuery(again bool) url.Values {
	if !again {
		return nil
	}
	return url.Values{"again": {"true"}}
}

// Schedules returns the schedules, oldest first, optionally only those in
// state.
func (c *Client) Schedules(ctx context.Context, state crier.ScheduleState) ([]*crier.Schedule, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", string(state))
	}
	var out scheduleList
	if err := c.call(ctx, http.MethodGet, "/api/v1/schedules", q, nil, &out); err != nil {
		return nil, err
	}
	return out.Schedules, nil
}

// Schedule returns a schedule with its latest runs, or a not_found error.
func (c *Client) Schedule(ctx context.Context, id string) (*ScheduleDetail, error) {
	var out ScheduleDetail
	if err := c.call(ctx, http.MethodGet, "/api/v1/schedules/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateSchedule changes a schedule; see schedule.Patch.
func (c *Client) UpdateSchedule(ctx context.Context, id string, p *schedule.Patch) (*crier.Schedule, error) {
	return c.scheduleCall(ctx, http.MethodPatch, "/api/v1/schedules/"+url.PathEscape(id), p)
}

// PauseSchedule keeps a schedule from firing until it is resumed.
func (c *Client) PauseSchedule(ctx context.Context, id string) (*crier.Schedule, error) {
	return c.scheduleCall(ctx, http.MethodPost, "/api/v1/schedules/"+url.PathEscape(id)+"/pause", nil)
}

// ResumeSchedule lets a paused schedule fire again from its next time.
func (c *Client) ResumeSchedule(ctx context.Context, id string) (*crier.Schedule, error) {
	return c.scheduleCall(ctx, http.MethodPost, "/api/v1/schedules/"+url.PathEscape(id)+"/resume", nil)
}

// CancelSchedule removes a schedule so that it never fires again.
func (c *Client) CancelSchedule(ctx context.Context, id string) (*crier.Schedule, error) {
	return c.scheduleCall(ctx, http.MethodDelete, "/api/v1/schedules/"+url.PathEscape(id), nil)
}

func (c *Client) scheduleCall(ctx context.Context, method, path string, in any) (*crier.Schedule, error) {
	var out crier.Schedule
	if err := c.call(ctx, method, path, nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
