// Package events decodes the payloads that start sgpilot's functions: the
// EventBridge CloudEvents envelope (one object, or a JSON array of them), the
// ECS instance events inside it, the MNS queue-trigger events that carry
// tasks, the FC timer event, and the small JSON payloads operators send with
// `s invoke`.
//
// It imports the standard library and shared/core/domain only; it does no I/O and
// keeps no state, so every decoder is safe for concurrent use.
//
// # Errors
//
// Every decoder distinguishes three outcomes:
//
//   - success;
//   - "not for us": a well-formed event that sgpilot has nothing to do with
//     (another source or type, a state that does not announce a new
//     instance, an API call that creates nothing). These are
//     *UnrelatedError values, matched by errors.Is(err, ErrUnrelated). A
//     handler should log and drop them, not fail: failing would only make
//     EventBridge deliver the same irrelevant event again;
//   - malformed input: a *domain.Error of kind KindInvalid whose message
//     says what is wrong. Retrying cannot fix these.
//
// # Sizes
//
// Inputs are bounded before they are parsed: MaxEventBytes for EventBridge
// deliveries, MaxQueueEventBytes for MNS trigger batches and MaxPayloadBytes
// for operator payloads. Anything larger is KindInvalid.
//
// # What is accepted
//
// ECS events that may change what an instance's membership should be:
//
//   - ecs:Instance:StateChange with state Created (sent once at creation,
//     for every way an instance comes to be) or Running (the instance can
//     change groups now). A task for an instance whose membership is
//     already complete costs the worker one batched read and no write, so
//     a restart of an existing instance is cheap; other states (Starting,
//     Stopping, Stopped, Deleted) are unrelated.
//   - ecs:ActionTrail:ApiCall (and ecs:ActionTrail:AliyunServiceEvent, for
//     instances that a cloud service such as Auto Scaling creates) records of
//     RunInstances (responseElements.InstanceIdSets.InstanceIdSet) and
//     CreateInstance (responseElements.InstanceId). A call that failed
//     (errorCode set) or was a DryRun is unrelated; a record with no
//     instance IDs in responseElements is malformed.
//   - the same ActionTrail types for tag calls on instances: TagResources,
//     UntagResources and the older AddTags and RemoveTags
//     (requestParameters ResourceType "instance", ResourceId.N, Tag.N.Key or
//     TagKey.N or All). Trigger is TriggerTagChange and TagKeys lists the
//     keys touched, so a caller can drop changes of unrelated tags
//     (InstanceEvent.TouchesTag). Calls on other resource types are
//     unrelated.
package events
