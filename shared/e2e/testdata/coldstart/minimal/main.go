// Command minimal is the least FC function the runtime SDK allows: it
// echoes its event. BenchmarkFunctions measures its cold start as the
// floor of any Go function on the machine it runs on.
package main

import (
	"context"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
)

func main() {
	fc.Start(func(_ context.Context, event []byte) ([]byte, error) { return event, nil })
}
