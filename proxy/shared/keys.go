package shared

// keys names the Redis keys and the channel under one prefix.
type keys struct{ prefix string }

func (k keys) token(profile string) string    { return k.prefix + "token:" + profile }
func (k keys) history(profile string) string  { return k.prefix + "history:" + profile }
func (k keys) rejected(profile string) string { return k.prefix + "rejected:" + profile }
func (k keys) lock(profile string) string     { return k.prefix + "lock:refresh:" + profile }
func (k keys) fence() string                  { return k.prefix + "fence" }
func (k keys) channel() string                { return k.prefix + "events" }
func (k keys) hold(scope, name string) string { return k.prefix + "hold:" + scope + ":" + name }
