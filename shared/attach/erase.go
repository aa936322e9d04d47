package attach

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ObjectAPI is the part of the S3 client an erasure uses.
type ObjectAPI interface {
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

// Objects deletes a person's stored objects when they are erased
// (conversation.EraseHooks.Objects): media keys in MediaBucket, and raw
// events kept as s3://bucket/key in MediaBucket or EmailBucket. A source in
// any other bucket is refused (an erasure must not reach beyond the
// stack's own buckets), which leaves the messages for a retry.
type Objects struct {
	S3                       ObjectAPI
	MediaBucket, EmailBucket string
}

// Delete implements conversation.EraseHooks.Objects: one DeleteObjects call
// per bucket and 1 000 keys; a key already gone is no error (S3 reports
// none).
func (o *Objects) Delete(ctx context.Context, mediaKeys, sources []string) error {
	byBucket := map[string][]string{}
	for _, k := range mediaKeys {
		if o.MediaBucket == "" {
			return fmt.Errorf("media %s to delete and no media bucket", k)
		}
		byBucket[o.MediaBucket] = append(byBucket[o.MediaBucket], k)
	}
	for _, src := range sources {
		bucket, k, ok := strings.Cut(strings.TrimPrefix(src, "s3://"), "/")
		if !ok || k == "" || bucket == "" || (bucket != o.MediaBucket && bucket != o.EmailBucket) {
			return fmt.Errorf("source %q is not in the stack's buckets", src)
		}
		byBucket[bucket] = append(byBucket[bucket], k)
	}
	for bucket, keys := range byBucket {
		for len(keys) > 0 {
			n := min(1000, len(keys))
			ids := make([]types.ObjectIdentifier, 0, n)
			for _, k := range keys[:n] {
				ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
			}
			keys = keys[n:]
			out, err := o.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
				Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
			if err != nil {
				return fmt.Errorf("delete objects in %s: %w", bucket, err)
			}
			if len(out.Errors) > 0 {
				e := out.Errors[0]
				return fmt.Errorf("delete %s in %s: %s %s (%d failed)", aws.ToString(e.Key), bucket, aws.ToString(e.Code), aws.ToString(e.Message), len(out.Errors))
			}
		}
	}
	return nil
}

// Delete is DevUploads' Objects.Delete: the files go from memory; sources
// (the dev server keeps none in buckets) are refused like Objects refuses
// a bucket not its own.
func (d *DevUploads) Delete(_ context.Context, mediaKeys, sources []string) error {
	d.init()
	if len(sources) > 0 {
		return fmt.Errorf("source %q is not in the dev server's store", sources[0])
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range mediaKeys {
		delete(d.files, k)
	}
	return nil
}
