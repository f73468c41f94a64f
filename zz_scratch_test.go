package anthropicusagereceiver

import (
	"context"
	"testing"
	"time"
)

func BenchmarkZZEmptyPoll(b *testing.B) {
	spec := usagePageSpecs[0]
	s := startBenchScraper(b, pageConfig("http://127.0.0.1:9", spec), func() time.Time { return benchNow })
	inMemoryClient(b, s, []byte(`{"data":[],"has_more":false,"next_page":null}`))
	r := s.reports[0]
	b.ReportAllocs()
	for b.Loop() {
		_, _, err := r.collect(context.Background(), s.client, benchNow)
		if err != nil {
			b.Fatal(err)
		}
	}
}
