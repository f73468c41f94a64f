package anthropicusagereceiver

import (
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/scraper/scraperhelper"
)

func scraperhelperTicker(ch <-chan time.Time) scraperhelper.ControllerOption {
	return scraperhelper.WithTickerChannel(ch)
}

type consumerCapabilities = consumer.Capabilities
