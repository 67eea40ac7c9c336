package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/aether-kv/aether-kv/internal/server"
)

// MaxClientsLimit is the largest MAX_CLIENTS accepted.
const MaxClientsLimit = 1_000_000

// resolveServer parses and checks the settings of "aether-kv serve",
// reporting every bad value.
func resolveServer(settings map[string]setting, c *Config) error {
	return errors.Join(
		parseAddr(keyAddr, settings[keyAddr], false, &c.Addr),
		checkPassword(settings[keyPassword], &c.Password),
		parseInt(keyMaxClients, settings[keyMaxClients], 1, MaxClientsLimit,
			fmt.Sprintf("an integer from 1 to %d; each connection needs a file descriptor (ulimit -n)", MaxClientsLimit), &c.MaxClients),
		parseSeconds(keyIdleTimeout, settings[keyIdleTimeout],
			"a number of seconds >= 0 such as 300, or a duration such as 5m; 0 never closes an idle connection", &c.IdleTimeout),
		parseSeconds(keyRequestTimeout, settings[keyRequestTimeout],
			"a number of seconds >= 0 such as 10, or a duration such as 10s; 0 sets no limit", &c.RequestTimeout),
		parseAddr(keyMetricsAddr, settings[keyMetricsAddr], true, &c.MetricsAddr),
	)
}

// CheckAddr reports whether addr is a valid listening address, host:port,
// such as 127.0.0.1:6380, [::1]:6380 or :6380 (every interface).
func CheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if strings.ContainsAny(host, " /\\") {
		return fmt.Errorf("host %q is not a host name or IP address", host)
	}
	return nil
}

// parseAddr sets *dst to the address in s; "" is accepted when optional.
func parseAddr(key string, s setting, optional bool, dst *string) error {
	want := "host:port such as 127.0.0.1:6380, [::1]:6380 or :6380 (every interface)"
	if optional {
		want += ", or empty for none"
	}
	v := strings.TrimSpace(s.value)
	if v == "" && optional {
		*dst = ""
		return nil
	}
	if err := CheckAddr(v); err != nil {
		return badValue(key, s, want, err)
	}
	*dst = v
	return nil
}

// checkPassword sets *dst to the password in s. Its value is never put in
// an error message.
func checkPassword(s setting, dst *string) error {
	if len(s.value) > server.MaxBulkUnauth {
		return invalid(fmt.Errorf("config: %s (%d bytes, not shown): want at most %d bytes, the longest argument a client may send before it has authenticated (%s)",
			keyPassword, len(s.value), server.MaxBulkUnauth, s.origin))
	}
	*dst = s.value
	return nil
}
