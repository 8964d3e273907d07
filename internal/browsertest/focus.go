package browsertest

import (
	"context"
	"fmt"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// maxTabs bounds the Tab presses of one focus check.
const maxTabs = 300

// focusStart forgets the elements a previous check reached.
const focusStart = `window.__crierFocusSeen = new Set(); true`

// focusProbe describes the element the keyboard focus is on: whether it
// is new to this check, whether the focus shows (an outline or a box
// shadow, as the browser's own ring or the page's :focus style), and
// whether it lies in the viewport, where a person can see it.
const focusProbe = `(() => {
	const e = document.activeElement;
	if (!e || e === document.body || e === document.documentElement) return {state: 'none'};
	if (window.__crierFocusSeen.has(e)) return {state: 'seen'};
	window.__crierFocusSeen.add(e);
	const s = getComputedStyle(e);
	const box = e.getBoundingClientRect();
	const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || (s.boxShadow && s.boxShadow !== 'none');
	const inView = box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0 &&
		box.left < window.innerWidth && box.top < window.innerHeight;
	const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
		(typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\s+/).join('.') : '');
	return {state: 'new', visible: ring && inView,
		node: {target: [name], html: e.outerHTML.slice(0, 300),
			summary: !inView ? 'focused, but not in the viewport' : 'focused without an outline or box shadow'}};
})()`

type focusState struct {
	State   string `json:"state"`
	Visible bool   `json:"visible"`
	Node    Node   `json:"node"`
}

// focusAt presses Tab through the page in ctx until the focus comes back
// to an element it has reached, and returns the elements whose focus
// did not show.
func focusAt(ctx context.Context) ([]Node, error) {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](focusStart)); err != nil {
		return nil, err
	}
	var hidden []Node
	reached, nowhere := 0, 0
	for range maxTabs {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			return nil, err
		}
		st, err := chromedp.Run(ctx, chromedp.Evaluate[focusState](focusProbe))
		if err != nil {
			return nil, err
		}
		switch st.State {
		case "seen":
			return hidden, nil
		case "none":
			// Past the last element the focus leaves the page, and the
			// next Tab brings it to the first; a page with nothing to
			// focus never gets it.
			if nowhere++; nowhere > 2 && reached == 0 {
				return hidden, nil
			}
			continue
		}
		reached++
		if !st.Visible {
			hidden = append(hidden, st.Node)
		}
	}
	return hidden, fmt.Errorf("the focus did not come round within %d presses of Tab", maxTabs)
}
