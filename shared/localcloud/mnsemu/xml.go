package mnsemu

import (
	"bytes"
	"encoding/xml"
	"strconv"
)

// Request bodies. Pointers tell an absent element from a zero one.

type queueRequest struct {
	XMLName                xml.Name `xml:"Queue"`
	DelaySeconds           *int     `xml:"DelaySeconds"`
	MaximumMessageSize     *int     `xml:"MaximumMessageSize"`
	MessageRetentionPeriod *int     `xml:"MessageRetentionPeriod"`
	VisibilityTimeout      *int     `xml:"VisibilityTimeout"`
	PollingWaitSeconds     *int     `xml:"PollingWaitSeconds"`
	LoggingEnabled         *bool    `xml:"LoggingEnabled"`
}

// apply overrides attrs with the elements present in the request.
func (r queueRequest) apply(attrs QueueAttributes) QueueAttributes {
	set := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	set(&attrs.DelaySeconds, r.DelaySeconds)
	set(&attrs.MaximumMessageSize, r.MaximumMessageSize)
	set(&attrs.MessageRetentionPeriod, r.MessageRetentionPeriod)
	set(&attrs.VisibilityTimeout, r.VisibilityTimeout)
	set(&attrs.PollingWaitSeconds, r.PollingWaitSeconds)
	if r.LoggingEnabled != nil {
		attrs.LoggingEnabled = *r.LoggingEnabled
	}
	return attrs
}

type sendEntry struct {
	MessageBody  *string `xml:"MessageBody"`
	DelaySeconds *int64  `xml:"DelaySeconds"`
	Priority     *int64  `xml:"Priority"`
}

// sendRequest is either <Message> (SendMessage) or <Messages> (Batch).
type sendRequest struct {
	XMLName xml.Name
	sendEntry
	Messages []sendEntry `xml:"Message"`
}

type receiptHandlesRequest struct {
	XMLName xml.Name `xml:"ReceiptHandles"`
	Handles []string `xml:"ReceiptHandle"`
}

// xmlWriter writes response bodies the way the service does: an XML
// declaration and the MNS namespace on the root element.
type xmlWriter struct{ bytes.Buffer }

const mnsNamespace = "http://mns.aliyuncs.com/doc/v1/"

func (w *xmlWriter) root(name string) {
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<")
	w.WriteString(name)
	w.WriteString(` xmlns="` + mnsNamespace + `">`)
}

func (w *xmlWriter) open(name string) {
	w.WriteByte('<')
	w.WriteString(name)
	w.WriteByte('>')
}

func (w *xmlWriter) close(name string) {
	w.WriteString("</")
	w.WriteString(name)
	w.WriteByte('>')
}

func (w *xmlWriter) text(name, v string) {
	w.open(name)
	_ = xml.EscapeText(w, []byte(v))
	w.close(name)
}

func (w *xmlWriter) num(name string, v int64) {
	w.open(name)
	w.Write(strconv.AppendInt(w.AvailableBuffer(), v, 10))
	w.close(name)
}

func (w *xmlWriter) flag(name string, v bool) {
	if v {
		w.text(name, "True")
	} else {
		w.text(name, "False")
	}
}

func (w *xmlWriter) message(m Message) {
	w.text("MessageId", m.ID)
	if m.ReceiptHandle != "" {
		w.text("ReceiptHandle", m.ReceiptHandle)
	}
	w.text("MessageBodyMD5", m.BodyMD5)
	w.text("MessageBody", m.Body)
	w.num("EnqueueTime", timeMS(m.EnqueueTime))
	w.num("NextVisibleTime", timeMS(m.NextVisibleTime))
	w.num("FirstDequeueTime", timeMS(m.FirstDequeueTime))
	w.num("DequeueCount", int64(m.DequeueCount))
	w.num("Priority", int64(m.Priority))
}

// queueMeta is what GetQueueAttributes and ListQueue with meta report.
type queueMeta struct {
	name                      string
	attrs                     QueueAttributes
	createdAt, modifiedAt     int64 // epoch ms
	active, inactive, delayed int
}

func (w *xmlWriter) queueMeta(m queueMeta) {
	w.text("QueueName", m.name)
	w.num("CreateTime", m.createdAt/1000)
	w.num("LastModifyTime", m.modifiedAt/1000)
	w.num("DelaySeconds", int64(m.attrs.DelaySeconds))
	w.num("MaximumMessageSize", int64(m.attrs.MaximumMessageSize))
	w.num("MessageRetentionPeriod", int64(m.attrs.MessageRetentionPeriod))
	w.num("VisibilityTimeout", int64(m.attrs.VisibilityTimeout))
	w.num("PollingWaitSeconds", int64(m.attrs.PollingWaitSeconds))
	w.num("ActiveMessages", int64(m.active))
	w.num("InactiveMessages", int64(m.inactive))
	w.num("DelayMessages", int64(m.delayed))
	w.flag("LoggingEnabled", m.attrs.LoggingEnabled)
}
