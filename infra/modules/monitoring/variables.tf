# --- naming ------------------------------------------------------------------

variable "name" {
  description = "Name of the service: prefix of every alarm, name of the dashboard, and `<name>-alarms` for the SNS topic."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.name)) && !endswith(var.name, "-")
    error_message = "name must be 1-20 characters: a lowercase letter, then lowercase letters, digits or `-`, not ending in `-`."
  }
}

variable "tags" {
  description = "Tags for every resource of this module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}

# --- what is watched (outputs of modules/ecs_cluster) -----------------------------

variable "load_balancer_arn_suffix" {
  description = "ARN suffix of the load balancer (`app/NAME/ID`): the LoadBalancer dimension of the AWS/ApplicationELB metrics."
  type        = string

  validation {
    condition     = can(regex("^app/[A-Za-z0-9-]{1,32}/[0-9a-f]+$", var.load_balancer_arn_suffix))
    error_message = "load_balancer_arn_suffix must look like app/finlex/0123456789abcdef (the ALB's arn_suffix)."
  }
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of the service's target group (`targetgroup/NAME/ID`): the TargetGroup dimension of the AWS/ApplicationELB metrics."
  type        = string

  validation {
    condition     = can(regex("^targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]+$", var.target_group_arn_suffix))
    error_message = "target_group_arn_suffix must look like targetgroup/finlex/0123456789abcdef (the target group's arn_suffix)."
  }
}

variable "cluster_name" {
  description = "Name of the ECS cluster: the ClusterName dimension of the AWS/ECS and ECS/ContainerInsights metrics."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.cluster_name))
    error_message = "cluster_name must be 1-255 letters, digits, `-` or `_`."
  }
}

variable "service_name" {
  description = "Name of the ECS service: the ServiceName dimension of the AWS/ECS and ECS/ContainerInsights metrics."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.service_name))
    error_message = "service_name must be 1-255 letters, digits, `-` or `_`."
  }
}

variable "log_group_name" {
  description = "CloudWatch log group of the container, read by the dashboard's Logs Insights widget."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#-]{1,512}$", var.log_group_name))
    error_message = "log_group_name must be a CloudWatch log group name (1-512 characters of letters, digits, `_`, `-`, `/`, `.`, `#`)."
  }
}

# --- notification --------------------------------------------------------------

variable "alarm_emails" {
  description = "Email addresses subscribed to the alarm topic (each must confirm the subscription from the mail AWS sends). Empty: no subscription; subscribe a pager or chat integration to the topic instead."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.alarm_emails) == length(distinct(var.alarm_emails)) && alltrue([for address in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "alarm_emails must list distinct email addresses such as ops@example.com."
  }
}

variable "alarm_topic_kms_key_arn" {
  description = "ARN of a customer-managed KMS key that encrypts the alarm topic; its key policy must let cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*. Null creates such a key. The AWS-managed alias/aws/sns cannot be used: its policy does not admit CloudWatch, so alarms could not publish."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+)$", var.alarm_topic_kms_key_arn)) && !endswith(coalesce(var.alarm_topic_kms_key_arn, "-"), ":alias/aws/sns")
    error_message = "alarm_topic_kms_key_arn must be null or the ARN of a customer-managed KMS key or alias (arn:aws:kms:REGION:ACCOUNT:key/ID); alias/aws/sns does not admit CloudWatch alarms."
  }
}

# --- alarm thresholds ------------------------------------------------------------

variable "elb_5xx_threshold" {
  description = "Alarm when the load balancer itself answers more than this many 5xx (HTTPCode_ELB_5XX_Count: no healthy target, target reset or timeout) in a minute, in 2 of 3 minutes."
  type        = number
  default     = 10

  validation {
    condition     = var.elb_5xx_threshold >= 0 && floor(var.elb_5xx_threshold) == var.elb_5xx_threshold
    error_message = "elb_5xx_threshold must be a whole number of responses per minute, 0 or more."
  }
}

variable "target_5xx_rate_threshold" {
  description = "Alarm when more than this percentage of the requests the tasks answered in a minute were 5xx (HTTPCode_Target_5XX_Count / RequestCount), in 2 of 3 minutes. A deployment alarm."
  type        = number
  default     = 5

  validation {
    condition     = var.target_5xx_rate_threshold > 0 && var.target_5xx_rate_threshold < 100
    error_message = "target_5xx_rate_threshold must be a percentage above 0 and below 100."
  }
}

variable "target_5xx_min_requests" {
  description = "Minutes with fewer requests than this count as a 5xx rate of 0, so that 1 error in 3 requests does not page anyone."
  type        = number
  default     = 10

  validation {
    condition     = var.target_5xx_min_requests >= 1 && floor(var.target_5xx_min_requests) == var.target_5xx_min_requests
    error_message = "target_5xx_min_requests must be a whole number of requests per minute, at least 1."
  }
}

variable "p99_latency_threshold" {
  description = "Alarm when the 99th percentile of TargetResponseTime (seconds) is above this in 3 consecutive minutes. A deployment alarm."
  type        = number
  default     = 1

  validation {
    condition     = var.p99_latency_threshold > 0 && var.p99_latency_threshold <= 60
    error_message = "p99_latency_threshold must be from above 0 to 60 seconds."
  }
}

variable "unhealthy_hosts_minutes" {
  description = "Alarm when the target group has an unhealthy target (UnHealthyHostCount > 0) for this many consecutive minutes. A deployment alarm."
  type        = number
  default     = 2

  validation {
    condition     = var.unhealthy_hosts_minutes >= 1 && var.unhealthy_hosts_minutes <= 60 && floor(var.unhealthy_hosts_minutes) == var.unhealthy_hosts_minutes
    error_message = "unhealthy_hosts_minutes must be a whole number from 1 to 60."
  }
}

variable "tasks_below_desired_minutes" {
  description = "Alarm when fewer tasks run than the service wants (Container Insights RunningTaskCount < DesiredTaskCount) for this many consecutive minutes; long enough for a scale-out to start its tasks."
  type        = number
  default     = 5

  validation {
    condition     = var.tasks_below_desired_minutes >= 1 && var.tasks_below_desired_minutes <= 60 && floor(var.tasks_below_desired_minutes) == var.tasks_below_desired_minutes
    error_message = "tasks_below_desired_minutes must be a whole number from 1 to 60."
  }
}

variable "cpu_utilization_threshold" {
  description = "Alarm when the service's average CPUUtilization (percent of the tasks' reservation) is above this for 5 consecutive minutes: autoscaling is at its maximum or not keeping up."
  type        = number
  default     = 85

  validation {
    condition     = var.cpu_utilization_threshold > 0 && var.cpu_utilization_threshold <= 100
    error_message = "cpu_utilization_threshold must be a percentage above 0 and at most 100."
  }
}

variable "memory_utilization_threshold" {
  description = "Alarm when the busiest task's MemoryUtilization (percent of the task's memory) is above this for 5 consecutive minutes: a leak or an undersized task, before the out-of-memory kill."
  type        = number
  default     = 85

  validation {
    condition     = var.memory_utilization_threshold > 0 && var.memory_utilization_threshold <= 100
    error_message = "memory_utilization_threshold must be a percentage above 0 and at most 100."
  }
}
