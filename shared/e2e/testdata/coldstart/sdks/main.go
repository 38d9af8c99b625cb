// Command sdks is the minimal function plus the packages of the SDKs the
// functions must use (ECS, MNS, zap), imported for their initialisation
// only: BenchmarkFunctions measures its cold start as the floor of any
// function built on those dependencies.
package main

import (
	"context"

	_ "github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	_ "github.com/aliyun/aliyun-mns-go-sdk"
	"github.com/aliyun/fc-runtime-go-sdk/fc"
	_ "go.uber.org/zap"
)

func main() {
	fc.Start(func(_ context.Context, event []byte) ([]byte, error) { return event, nil })
}
