"""IAM's policy evaluation, offline: what AWS would decide for one request.

moto checks a call's action only (docs/rehearsal.md); the rehearsal asks this
package instead, with the resource ARN and the condition context of each call.
"""
