package asyncrpc

import "strings"

// ResponseTopicSuffix ends the name of every response topic a server
// with default options publishes to, such as "orders.responses": name a
// client's ClientOptions.ResponseTopic so.
const ResponseTopicSuffix = ".responses"

// IsResponseTopic reports whether topic is named as a response topic
// (something before ResponseTopicSuffix). It is the default
// ServerOptions.AllowResponseTopic: without it any HTTP caller could have
// the server publish into any topic of the broker, for example another
// service's command topic.
func IsResponseTopic(topic string) bool {
	return len(topic) > len(ResponseTopicSuffix) && strings.HasSuffix(topic, ResponseTopicSuffix)
}

// AllowAnyResponseTopic accepts every topic. Set it as
// ServerOptions.AllowResponseTopic only where every HTTP caller may have
// the server publish anywhere on its broker.
func AllowAnyResponseTopic(string) bool { return true }
