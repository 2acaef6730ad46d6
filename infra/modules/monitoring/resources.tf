# What tells people the service is in trouble: CloudWatch alarms on what users
# feel (load balancer and target errors, latency, unhealthy targets) and on the
# service's capacity (tasks, CPU, memory); an encrypted SNS topic they notify
# on ALARM and on OK; a dashboard. The alarms the ECS service watches during a
# deployment are named in local.deployment_alarm_names (output
# deployment_alarm_names), see the README.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # `.id` is the region's name on provider 5.x and 6.x alike (6.x deprecates
  # `.name` in favour of `.region`, which 5.x lacks).
  region     = data.aws_region.current.id
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Alarm names are plain strings built from var.name, never read back from
  # the alarm resources: the ECS service lists the deployment alarms by name,
  # and the alarms need the service's name as a dimension. Names break that
  # cycle; references would close it.
  alarm_names = {
    elb_5xx             = "${var.name}-elb-5xx"
    target_5xx_rate     = "${var.name}-target-5xx-rate"
    p99_latency         = "${var.name}-p99-latency"
    unhealthy_hosts     = "${var.name}-unhealthy-hosts"
    tasks_below_desired = "${var.name}-tasks-below-desired"
    cpu_high            = "${var.name}-cpu-high"
    memory_high         = "${var.name}-memory-high"
  }

  # "This release is bad": what a new revision changes. ELB 5xx, task count,
  # CPU and memory also move for reasons a rollback does not fix (capacity,
  # load), so they notify people but do not roll back.
  deployment_alarm_names = [
    local.alarm_names.target_5xx_rate,
    local.alarm_names.p99_latency,
    local.alarm_names.unhealthy_hosts,
  ]

  alarm_arns = {
    for key, alarm_name in local.alarm_names :
    key => "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${alarm_name}"
  }

  runbook = "Runbook: docs/runbook.md, section 'Alarms'."

  alb_dimensions = {
    LoadBalancer = var.load_balancer_arn_suffix
  }
  target_dimensions = {
    TargetGroup  = var.target_group_arn_suffix
    LoadBalancer = var.load_balancer_arn_suffix
  }
  service_dimensions = {
    ClusterName = var.cluster_name
    ServiceName = var.service_name
  }

  topic_key_arn = coalesce(var.alarm_topic_kms_key_arn, one(aws_kms_key.alarms[*].arn))

  console_hosts = {
    "aws-cn"     = "console.amazonaws.cn"
    "aws-us-gov" = "console.amazonaws-us-gov.com"
  }
  dashboard_url = "https://${lookup(local.console_hosts, local.partition, "console.aws.amazon.com")}/cloudwatch/home?region=${local.region}#dashboards/dashboard/${var.name}"
}

# --- notification: an encrypted topic that only this account's alarms publish to -----

# CloudWatch can publish to an encrypted topic only if the key's policy lets
# the cloudwatch.amazonaws.com principal use it. The AWS-managed alias/aws/sns
# key's policy does not, and cannot be changed, so the topic gets a
# customer-managed key unless one is given (alarm_topic_kms_key_arn).
data "aws_iam_policy_document" "alarms_key" {
  count = var.alarm_topic_kms_key_arn == null ? 1 : 0

  statement {
    sid       = "AccountAdministersTheKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"] # In a key policy, "*" is this key.

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # SNS calls KMS with the publisher's identity: CloudWatch's. The topic
  # policy below limits who may publish to this account's alarms.
  statement {
    sid       = "CloudWatchAlarmsPublishToTheTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"] # In a key policy, "*" is this key.

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "alarms" {
  count = var.alarm_topic_kms_key_arn == null ? 1 : 0

  description             = "${var.name}: encrypts the ${var.name}-alarms SNS topic; usable by CloudWatch alarms"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.alarms_key[0].json
  tags                    = var.tags
}

resource "aws_kms_alias" "alarms" {
  count = var.alarm_topic_kms_key_arn == null ? 1 : 0

  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.alarms[0].key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  display_name      = "${var.name} alarms"
  kms_master_key_id = local.topic_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid       = "CloudWatchAlarmsOfThisService"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name}-*"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# --- alarms on what users feel -------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "elb_5xx" {
  alarm_name        = local.alarm_names.elb_5xx
  alarm_description = "The load balancer itself answered more than ${var.elb_5xx_threshold} 5xx a minute (no healthy target, a target reset the connection or timed out). ${local.runbook}"

  namespace   = "AWS/ApplicationELB"
  metric_name = "HTTPCode_ELB_5XX_Count"
  dimensions  = local.alb_dimensions
  statistic   = "Sum"
  period      = 60

  comparison_operator = "GreaterThanThreshold"
  threshold           = var.elb_5xx_threshold
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  # The ALB publishes the count only in minutes that had such a response:
  # no data means none happened, which is good.
  treat_missing_data = "notBreaching"

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]
  tags          = var.tags
}

resource "aws_cloudwatch_metric_alarm" "target_5xx_rate" {
  alarm_name        = local.alarm_names.target_5xx_rate
  alarm_description = "More than ${var.target_5xx_rate_threshold}% of the requests the tasks answered were 5xx (minutes with at least ${var.target_5xx_min_requests} requests). Deployment alarm: rolls a deployment back. ${local.runbook}"

  metric_query {
    id          = "errors"
    return_data = false

    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.target_dimensions
      stat        = "Sum"
      period      = 60
    }
  }

  metric_query {
    id          = "requests"
    return_data = false

    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.target_dimensions
      stat        = "Sum"
      period      = 60
    }
  }

  metric_query {
    id          = "rate"
    label       = "Target 5xx rate (%)"
    expression  = "IF(requests >= ${var.target_5xx_min_requests}, 100 * FILL(errors, 0) / requests, 0)"
    return_data = true
  }

  comparison_operator = "GreaterThanThreshold"
  threshold           = var.target_5xx_rate_threshold
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  # No requests in a minute means no errors either: nothing to alarm on.
  treat_missing_data = "notBreaching"

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]
  tags          = var.tags
}

resource "aws_cloudwatch_metric_alarm" "p99_latency" {
  alarm_name        = local.alarm_names.p99_latency
  alarm_description = "The slowest 1% of requests took more than ${var.p99_latency_threshold} s (TargetResponseTime p99) for 3 minutes in a row. Deployment alarm: rolls a deployment back. ${local.runbook}"

  namespace          = "AWS/ApplicationELB"
  metric_name        = "TargetResponseTime"
  dimensions         = local.target_dimensions
  extended_statistic = "p99"
  period             = 60

  comparison_operator = "GreaterThanThreshold"
  threshold           = var.p99_latency_threshold
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  # No requests, no response times: a quiet minute is not a slow one.
  treat_missing_data = "notBreaching"

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]
  tags          = var.tags
}

resource "aws_cloudwatch_metric_alarm" "unhealthy_hosts" {
  alarm_name        = local.alarm_names.unhealthy_hosts
  alarm_description = "A task has failed the target group's health checks for ${var.unhealthy_hosts_minutes} minute(s) in a row. Deployment alarm: rolls a deployment back. ${local.runbook}"

  namespace   = "AWS/ApplicationELB"
  metric_name = "UnHealthyHostCount"
  dimensions  = local.target_dimensions
  statistic   = "Maximum"
  period      = 60

  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = var.unhealthy_hosts_minutes
  datapoints_to_alarm = var.unhealthy_hosts_minutes
  # The ALB publishes this every minute while the target group serves a load
  # balancer; a gap means no targets are registered at all, which the
  # tasks-below-desired alarm reports. Not breaching keeps this alarm about
  # unhealthy targets only.
  treat_missing_data = "notBreaching"

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]
  tags          = var.tags
}

# --- alarms on the service's capacity -----------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "tasks_below_desired" {
  alarm_name        = local.alarm_names.tasks_below_desired
  alarm_description = "Fewer tasks have been running than the service wants for ${var.tasks_below_desired_minutes} minutes (tasks crash, cannot start, or cannot pull the image). ${local.runbook}"

  metric_query {
    id          = "desired"
    return_data = false

    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "DesiredTaskCount"
      dimensions  = local.service_dimensions
      stat        = "Average"
      period      = 60
    }
  }

  metric_query {
    id          = "running"
    return_data = false

    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      dimensions  = local.service_dimensions
      stat        = "Average"
      period      = 60
    }
  }

  metric_query {
    id          = "missing"
    label       = "Tasks missing (desired - running)"
    expression  = "desired - running"
    return_data = true
  }

  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = var.tasks_below_desired_minutes
  datapoints_to_alarm = var.tasks_below_desired_minutes
  # Container Insights is always on for this cluster (ecs_cluster accepts
  # only enabled or enhanced) and reports the service every minute, even at
  # 0 running tasks. Silence means the service or its metrics are gone, and
  # nobody can see the task count then: that is worth waking someone for.
  treat_missing_data = "breaching"

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]
  tags          = var.tags
}

resource "aws_cloudwatch_metric_alarm" "cpu_high" {
  alarm_name        = local.alarm_names.cpu_high
  alarm_description = "The service's average CPU has been above ${var.cpu_utilization_threshold}% of its reservation for 5 minutes: autoscaling is at its maximum or not keeping up. ${local.runbook}"

  namespace   = "AWS/ECS"
  metric_name = "CPUUtilization"
  dimensions  = local.service_dimensions
  statistic   = "Average"
  period      = 60

  comparison_operator = "GreaterThanThreshold"
  threshold           = var.cpu_utilization_threshold
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  # ECS reports this every minute while a task runs; with no task running
  # there is no CPU to be high, and tasks-below-desired reports the outage.
  treat_missing_data = "notBreaching"

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]
  tags          = var.tags
}

resource "aws_cloudwatch_metric_alarm" "memory_high" {
  alarm_name        = local.alarm_names.memory_high
  alarm_description = "The busiest task has used more than ${var.memory_utilization_threshold}% of its memory for 5 minutes: a leak or an undersized task, before the out-of-memory kill. ${local.runbook}"

  namespace   = "AWS/ECS"
  metric_name = "MemoryUtilization"
  dimensions  = local.service_dimensions
  statistic   = "Maximum" # one task running out of memory is enough to fail requests
  period      = 60

  comparison_operator = "GreaterThanThreshold"
  threshold           = var.memory_utilization_threshold
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  # As for CPU: no task, no memory use; tasks-below-desired reports that.
  treat_missing_data = "notBreaching"

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]
  tags          = var.tags
}

# --- dashboard -------------------------------------------------------------------------------------

locals {
  # Metric rows of the dashboard: [namespace, metric, dimension name, value, ..., {options}].
  target_metric = flatten([for key, value in local.target_dimensions : [key, value]])
  alb_metric    = flatten([for key, value in local.alb_dimensions : [key, value]])
  service_metric = flatten([
    for key, value in local.service_dimensions : [key, value]
  ])

  error_query = join(" | ", [
    "SOURCE '${var.log_group_name}'",
    "fields @timestamp, method, path, error",
    "filter logger = \"finlex.error\"",
    "sort @timestamp desc",
    "limit 50",
  ])

  dashboard_widgets = [
    {
      type   = "metric"
      x      = 0
      y      = 0
      width  = 8
      height = 6
      properties = {
        title  = "Requests (per minute)"
        region = local.region
        view   = "timeSeries"
        period = 60
        stat   = "Sum"
        metrics = [
          concat(["AWS/ApplicationELB", "RequestCount"], local.target_metric, [{ label = "requests" }]),
        ]
      }
    },
    {
      type   = "metric"
      x      = 8
      y      = 0
      width  = 8
      height = 6
      properties = {
        title  = "Target response time (seconds)"
        region = local.region
        view   = "timeSeries"
        period = 60
        metrics = [
          concat(["AWS/ApplicationELB", "TargetResponseTime"], local.target_metric, [{ stat = "p50", label = "p50" }]),
          concat(["AWS/ApplicationELB", "TargetResponseTime"], local.target_metric, [{ stat = "p99", label = "p99" }]),
        ]
        annotations = {
          horizontal = [{ label = "p99 alarm", value = var.p99_latency_threshold }]
        }
      }
    },
    {
      type   = "metric"
      x      = 16
      y      = 0
      width  = 8
      height = 6
      properties = {
        title  = "4xx and 5xx (per minute)"
        region = local.region
        view   = "timeSeries"
        period = 60
        stat   = "Sum"
        metrics = [
          concat(["AWS/ApplicationELB", "HTTPCode_Target_4XX_Count"], local.target_metric, [{ label = "target 4xx" }]),
          concat(["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"], local.target_metric, [{ label = "target 5xx" }]),
          concat(["AWS/ApplicationELB", "HTTPCode_ELB_4XX_Count"], local.alb_metric, [{ label = "load balancer 4xx" }]),
          concat(["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"], local.alb_metric, [{ label = "load balancer 5xx" }]),
        ]
      }
    },
    {
      type   = "metric"
      x      = 0
      y      = 6
      width  = 8
      height = 6
      properties = {
        title  = "Healthy and unhealthy targets"
        region = local.region
        view   = "timeSeries"
        period = 60
        metrics = [
          concat(["AWS/ApplicationELB", "HealthyHostCount"], local.target_metric, [{ stat = "Minimum", label = "healthy (min)" }]),
          concat(["AWS/ApplicationELB", "UnHealthyHostCount"], local.target_metric, [{ stat = "Maximum", label = "unhealthy (max)" }]),
        ]
      }
    },
    {
      type   = "metric"
      x      = 8
      y      = 6
      width  = 8
      height = 6
      properties = {
        title  = "Running and desired tasks"
        region = local.region
        view   = "timeSeries"
        period = 60
        stat   = "Average"
        metrics = [
          concat(["ECS/ContainerInsights", "RunningTaskCount"], local.service_metric, [{ label = "running" }]),
          concat(["ECS/ContainerInsights", "DesiredTaskCount"], local.service_metric, [{ label = "desired" }]),
        ]
      }
    },
    {
      type   = "metric"
      x      = 16
      y      = 6
      width  = 8
      height = 6
      properties = {
        title  = "CPU and memory (% of the task's reservation)"
        region = local.region
        view   = "timeSeries"
        period = 60
        yAxis  = { left = { min = 0, max = 100 } }
        metrics = [
          concat(["AWS/ECS", "CPUUtilization"], local.service_metric, [{ stat = "Average", label = "CPU (average)" }]),
          concat(["AWS/ECS", "MemoryUtilization"], local.service_metric, [{ stat = "Maximum", label = "memory (busiest task)" }]),
        ]
      }
    },
    {
      type   = "alarm"
      x      = 0
      y      = 12
      width  = 24
      height = 3
      properties = {
        title  = "Alarms"
        alarms = [for key in sort(keys(local.alarm_arns)) : local.alarm_arns[key]]
        sortBy = "stateUpdatedTimestamp"
      }
    },
    {
      type   = "log"
      x      = 0
      y      = 15
      width  = 24
      height = 8
      properties = {
        title  = "Latest errors (logger finlex.error)"
        region = local.region
        view   = "table"
        query  = local.error_query
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })

  # The alarm widget names the alarms by ARN (known before they exist, so the
  # body is known at plan time); create them first all the same.
  depends_on = [
    aws_cloudwatch_metric_alarm.elb_5xx,
    aws_cloudwatch_metric_alarm.target_5xx_rate,
    aws_cloudwatch_metric_alarm.p99_latency,
    aws_cloudwatch_metric_alarm.unhealthy_hosts,
    aws_cloudwatch_metric_alarm.tasks_below_desired,
    aws_cloudwatch_metric_alarm.cpu_high,
    aws_cloudwatch_metric_alarm.memory_high,
  ]
}
