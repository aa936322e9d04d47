// Command hello is aws-lambda-go's hello world: the reference a function's
// cold start is measured against (DESIGN.md section 8).
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func() (string, error) { return "hello", nil })
}
