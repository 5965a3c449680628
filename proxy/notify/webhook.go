package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// postWithRetry posts ev to the webhook, retrying with back-off after a
// connection error, a 5xx or a 429 for at most retryFor after the event;
// never once Close has been called.
func (n *Notifier) postWithRetry(ev Event) {
	body, err := json.Marshal(ev)
	if err != nil {
		n.outcome(SinkWebhook, OutcomeFailed)
		n.log.Error().Err(err).Str("event", ev.Event).Msg("notify: event not encodable")
		return
	}
	delay := n.retryMin
	for attempt := 1; ; attempt++ {
		target := n.cfg.Load().Webhook
		if target == "" {
			return // removed from the config meanwhile
		}
		err, again := n.post(target, body)
		if err == nil {
			n.outcome(SinkWebhook, OutcomeOK)
			n.log.Debug().Str("event", ev.Event).Str("profile", ev.Profile).Int("attempts", attempt).Msg("notify webhook sent")
			return
		}
		if !again || n.now().Add(delay).Sub(ev.Time) > n.retryFor || n.isClosing() {
			n.outcome(SinkWebhook, OutcomeFailed)
			n.log.Warn().Str("event", ev.Event).Str("profile", ev.Profile).Str("webhook", RedactURL(target)).
				Int("attempts", attempt).Err(err).Msg("notify webhook failed: event not delivered")
			return
		}
		n.log.Debug().Str("event", ev.Event).Str("webhook", RedactURL(target)).Err(err).Float64("retry_in_ms", float64(delay)/float64(time.Millisecond)).
			Msg("notify webhook failed: retrying")
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-n.closing:
			t.Stop()
		}
		delay = min(delay*2, retryMax)
	}
}

// post makes one POST of body to target. again reports whether a failure
// may pass if tried later (connection error, 5xx, 429). The error never
// holds target, which is a secret.
func (n *Notifier) post(target string, body []byte) (err error, again bool) {
	req, err := http.NewRequestWithContext(n.ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return errors.New("webhook is not a valid URL"), false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "notion-proxy")
	resp, err := n.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post: %w", err), true
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil, false
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("answered %s", resp.Status), true
	default:
		return fmt.Errorf("answered %s", resp.Status), false
	}
}

// RedactURL shows a webhook URL without what makes it a secret: scheme
// and host only ("https://hooks.slack.com/…").
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(not shown)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
