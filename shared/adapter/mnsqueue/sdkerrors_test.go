package mnsqueue_test

import (
	"regexp"
	"testing"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"
)

// TestSDKErrorText pins the MNS SDK's error text as it comes out of
// shared/thirdparty/gogaperrors, which go.mod puts in place of
// github.com/gogap/errors: the layout gogap rendered, which the adapter's
// unknown-code parsing and anyone's log searches rely on, and the codes
// IsEqual compares.
func TestSDKErrorText(t *testing.T) {
	tests := []struct {
		name  string
		resp  ali_mns.ErrorResponse
		match func(error) bool
		want  string
	}{
		{"mapped code", ali_mns.ErrorResponse{Code: "QueueNotExist", Message: "The queue name you provided is not exist.", RequestId: "5F2A", HostId: "http://1.mns.cn-hangzhou.aliyuncs.com"},
			ali_mns.ERR_MNS_QUEUE_NOT_EXIST.IsEqual,
			`^ali_mns response status error,code: QueueNotExist, message: The queue name you provided is not exist\., resource: queues/q1 request id: 5F2A, host id: http://1\.mns\.cn-hangzhou\.aliyuncs\.com, Id: MNS#122:[0-9A-F]{7}$`},
		{"code outside the SDK's map", ali_mns.ErrorResponse{Code: "SomethingNew", Message: "?"},
			ali_mns.ERR_MNS_UNKNOWN_CODE.IsEqual,
			`^ali_mns response status error,code: SomethingNew, message: \?, resource: queues/q1 request id: , host id: , Id: MNS#135:[0-9A-F]{7}$`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ali_mns.ParseError(tc.resp, "queues/q1")
			if !regexp.MustCompile(tc.want).MatchString(err.Error()) {
				t.Errorf("error text %q\nwant it to match %s", err.Error(), tc.want)
			}
			if !tc.match(err) {
				t.Errorf("%v: not equal to its template", err)
			}
			if ali_mns.ERR_MNS_ACCESS_DENIED.IsEqual(err) {
				t.Errorf("%v: equal to ERR_MNS_ACCESS_DENIED", err)
			}
		})
	}
}
