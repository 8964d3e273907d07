package channeltest_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
)

func TestCode(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("plain"), "unclassified"},
		{crier.Transient(errors.New("503"), 0), crier.ETRANSIENT},
		{fmt.Errorf("send: %w", crier.Unknown(errors.New("EOF"), true)), crier.EUNKNOWN},
	}
	for _, tt := range tests {
		if got := channeltest.Code(tt.err); got != tt.want {
			t.Errorf("Code(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestClock(t *testing.T) {
	start := time.Date(2023, 10, 30, 6, 0, 0, 0, time.UTC)
	var c crier.Clock = channeltest.NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now() = %v, want %v", got, start)
	}
	c.(*channeltest.Clock).Advance(90 * time.Second)
	if got, want := c.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("after Advance: Now() = %v, want %v", got, want)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[channeltest.Kind]string{
		channeltest.Accept: "Accept", channeltest.Drop: "Drop", channeltest.Kind(42): "Kind(42)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
