"""Settings, configuration, errors and limits, languages and pages, security headers, proxies, TLS,
key files, sealing, rate limits, health: what every other package stands on."""
