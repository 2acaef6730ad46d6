# The service behind HTTPS: ACM certificate, ALB with its listeners and target
# group, security groups, Route53 alias, ECS cluster, task definition, service
# and its autoscaling.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# Read to check that tasks (and the ALB) span at least 2 Availability Zones.
data "aws_subnet" "task" {
  for_each = toset(var.task_subnet_ids)
  id       = each.value
}

data "aws_subnet" "alb" {
  for_each = toset(var.alb_subnet_ids)
  id       = each.value
}

locals {
  container_name = var.name
  account_id     = data.aws_caller_identity.current.account_id
  region         = data.aws_region.current.id
  partition      = data.aws_partition.current.partition

  task_azs = distinct([for subnet in data.aws_subnet.task : subnet.availability_zone])
  alb_azs  = distinct([for subnet in data.aws_subnet.alb : subnet.availability_zone])

  # os.cpu_count() in a Fargate task reports the host's CPUs, not the task's
  # share: size the server from the task's cpu instead (2 per vCPU + 1).
  workers = coalesce(var.workers, max(1, floor(var.cpu / 1024) * 2 + 1))

  # The server outlasts the load balancer on idle connections (KEEPALIVE_MARGIN in
  # application/finlex_api/settings.py): the ALB closes first, so it never reuses one
  # being closed.
  keepalive_margin = 5

  container_environment = merge(
    {
      FINLEX_PORT              = tostring(var.container_port)
      FINLEX_WORKERS           = tostring(local.workers)
      FINLEX_GRACEFUL_TIMEOUT  = tostring(var.graceful_timeout)
      FINLEX_LOG_LEVEL         = var.log_level
      FINLEX_KEEPALIVE_TIMEOUT = tostring(var.alb_idle_timeout + local.keepalive_margin)
      FINLEX_PRESTOP_DELAY     = tostring(local.prestop_delay)
    },
    var.environment,
  )

  # The app's own settings (ENVIRONMENT in application/finlex_api/settings.py; tests/infra
  # ties the two).
  # None may be a secret: a setting is configuration, and the app prints a bad
  # setting's value in its start-up error, which would put a secret in the log.
  app_setting_names = [
    "FINLEX_HOST", "FINLEX_PORT", "FINLEX_WORKERS", "FINLEX_THREADS", "FINLEX_LOG_LEVEL",
    "FINLEX_GRACEFUL_TIMEOUT", "FINLEX_PRESTOP_DELAY", "FINLEX_MAX_BODY_BYTES",
    "FINLEX_KEEPALIVE_TIMEOUT", "FINLEX_REVISION", "FINLEX_STOPPING_FILE",
  ]

  # Secrets by exact ARN: ECS reads each when a task starts (as the execution
  # role) and sets the variable. Only ARNs are in the task definition, the plan
  # and the state. Null when there are none, as ECS itself leaves it.
  container_secrets = [
    for name in sort(keys(var.secrets)) : { name = name, valueFrom = var.secrets[name] }
  ]
  secret_arns    = distinct(values(var.secrets))
  secret_parts   = [for arn in local.secret_arns : split(":", arn)]
  parameter_arns = sort([for arn in local.secret_arns : arn if split(":", arn)[2] == "ssm"])
  secretsmanager_arns = sort([
    for arn in local.secret_arns : arn if split(":", arn)[2] == "secretsmanager"
  ])
  # The services (in the secrets' regions) through which the customer key may decrypt.
  secrets_via_services = sort(distinct([
    for parts in local.secret_parts : "${parts[2]}.${parts[3]}.amazonaws.com"
  ]))

  container_definitions = [
    {
      name      = local.container_name
      image     = "${var.image_repository_url}:${var.image_tag}"
      essential = true
      user      = var.container_user

      portMappings = [
        {
          name          = "http"
          containerPort = var.container_port
          hostPort      = var.container_port
          protocol      = "tcp"
          appProtocol   = "http"
        },
      ]

      environment = [
        for key in sort(keys(local.container_environment)) : {
          name  = key
          value = local.container_environment[key]
        }
      ]

      secrets = length(local.container_secrets) > 0 ? local.container_secrets : null

      # Read-only root filesystem; the server writes temporary files to /tmp
      # only, a volume on the task's ephemeral storage.
      readonlyRootFilesystem = true
      mountPoints = [
        {
          sourceVolume  = "tmp"
          containerPath = "/tmp"
          readOnly      = false
        },
      ]

      # The image has no curl: its own probe (bash, cheap in a 0.25 vCPU task) calls the health route.
      healthCheck = {
        command     = ["CMD", "bash", "/app/healthcheck.sh"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }

      # ECS sends SIGTERM, waits this long, then SIGKILL: more than the app's
      # pre-stop delay plus its graceful bound (variables.tf validates it), so
      # that the target group stops routing first and in-flight requests finish.
      stopTimeout = var.stop_timeout

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "ecs"
          mode                  = "non-blocking"
          max-buffer-size       = "25m"
        }
      }
    },
  ]
}

# --- HTTPS: certificate validated through DNS --------------------------------------

resource "aws_acm_certificate" "this" {
  domain_name       = var.domain_name
  validation_method = "DNS"
  key_algorithm     = "EC_prime256v1"

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "certificate_validation" {
  for_each = {
    for option in aws_acm_certificate.this.domain_validation_options : option.domain_name => option
  }

  zone_id         = var.hosted_zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = [for record in aws_route53_record.certificate_validation : record.fqdn]
}

# --- security groups -----------------------------------------------------------------

resource "aws_security_group" "alb" {
  name_prefix = "${var.name}-alb-"
  description = "${var.name} load balancer: HTTP and HTTPS from the allowed CIDRs, to the tasks only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = toset(var.allowed_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
  tags              = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  # checkov:skip=CKV_AWS_260:Port 80 only answers with a redirect to HTTPS (the HTTP listener's sole action); closing it would break http:// links instead of upgrading them.
  for_each = toset(var.allowed_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTP from ${each.value}, redirected to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  security_group_id            = aws_security_group.alb.id
  description                  = "Requests and health checks to the tasks on the container port"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = aws_security_group.tasks.id
  tags                         = var.tags
}

resource "aws_security_group" "tasks" {
  name_prefix = "${var.name}-tasks-"
  description = "${var.name} tasks: the container port from the load balancer only; HTTPS out to AWS APIs"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-tasks" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Container port from the load balancer only"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = aws_security_group.alb.id
  tags                         = var.tags
}

# Tasks need HTTPS to ECR (image pull), S3 (image layers) and CloudWatch Logs.
# DNS to the VPC resolver is not subject to security groups.
resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  for_each = toset(var.task_egress_cidrs)

  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to ECR, S3 and CloudWatch Logs via ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "tasks_https_prefix_lists" {
  for_each = toset(var.task_egress_prefix_list_ids)

  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to the AWS service prefix list ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = each.value
  tags              = var.tags
}

# --- load balancer ---------------------------------------------------------------------

resource "aws_lb" "this" {
  # checkov:skip=CKV2_AWS_28:No WAF by default (about 6 USD a month plus rule and request charges for a version endpoint); attach a web ACL with aws_wafv2_web_acl_association if the API grows.
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.alb_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection
  idle_timeout               = var.alb_idle_timeout
  # Requests that HTTP Desync Guardian classes Ambiguous or Severe (among them
  # Transfer-Encoding beside Content-Length, chunked twice, an unknown coding)
  # get 400 and a closed connection here, before they reach a task: the app's
  # server cannot see Content-Length beside Transfer-Encoding (docs/performance.md).
  desync_mitigation_mode = "strictest"

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]
    content {
      bucket  = access_logs.value
      prefix  = var.access_logs_prefix
      enabled = true
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.alb_azs) >= 2
      error_message = "alb_subnet_ids must cover at least 2 Availability Zones."
    }
  }
}

resource "aws_lb_target_group" "this" {
  # checkov:skip=CKV_AWS_378:TLS ends at the ALB; its one way in is aws_lb_listener_rule.service_host on the HTTPS listener, and checkov's graph check follows listeners, not listener rules (it passed while the listener forwarded). ALB to task is HTTP inside the VPC, as before.
  name_prefix          = substr(var.name, 0, 5)
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay

  health_check {
    enabled             = true
    path                = var.health_check_path
    port                = "traffic-port"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = var.health_check_interval
    timeout             = var.health_check_timeout
    healthy_threshold   = var.healthy_threshold
    unhealthy_threshold = var.unhealthy_threshold
  }

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = aws_acm_certificate_validation.this.certificate_arn

  routing_http_response_strict_transport_security_header_value = var.hsts_max_age > 0 ? "max-age=${var.hsts_max_age}" : null

  # Only requests for the service's name reach a task (aws_lb_listener_rule.service_host);
  # any other Host (the ALB's own DNS name, an address, a scanner's guess) gets
  # this 404 from the load balancer. Health checks go to the targets directly.
  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "404 not found"
      status_code  = "404"
    }
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "service_host" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 1

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  condition {
    host_header {
      values = [var.domain_name]
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}

resource "aws_route53_record" "alb" {
  zone_id = var.hosted_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_lb.this.dns_name
    zone_id                = aws_lb.this.zone_id
    evaluate_target_health = true
  }
}

# --- cluster and logs --------------------------------------------------------------------

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_338:Application logs, not an audit trail: retention is a variable (default 30 days) so that storage costs stay bounded; set 365 or more where policy demands it.
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

# --- IAM: execution role (ECS agent) and task role (the app) --------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    sid     = "EcsTasksOfThisAccount"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    # Confused-deputy protection: only ECS acting for this account may assume.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name_prefix          = "${var.name}-execution-"
  description          = "${var.name}: lets ECS pull the image, write the container's logs and read its secrets"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  max_session_duration = 3600
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

# Least privilege: pull from this one repository, write to this one log group,
# read exactly the secrets' ARNs. (AmazonECSTaskExecutionRolePolicy would allow
# every repository.)
data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrAuthToken"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken supports no resource-level permissions.
  }

  statement {
    sid = "EcrPullThisRepository"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [var.image_repository_arn]
  }

  statement {
    sid       = "WriteContainerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:log-stream:*"]
  }

  # The container's secrets, by exact ARN (var.secrets): what ECS reads for
  # the task when it starts. No statement when there is none of a kind.
  dynamic "statement" {
    for_each = length(local.parameter_arns) > 0 ? [local.parameter_arns] : []
    content {
      sid       = "ReadSecretParameters"
      actions   = ["ssm:GetParameters"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(local.secretsmanager_arns) > 0 ? [local.secretsmanager_arns] : []
    content {
      sid       = "ReadSecretsManagerSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = statement.value
    }
  }

  # A customer-managed key decrypts them only through those services, never directly.
  dynamic "statement" {
    for_each = var.secrets_kms_key_arn != null && length(local.secret_arns) > 0 ? [var.secrets_kms_key_arn] : []
    content {
      sid       = "DecryptSecretsThroughTheirService"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.secrets_via_services
      }
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "ecr-pull-and-logs"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json

  lifecycle {
    # The root's boundary (modules/pipeline_roles, ReadTheServiceSecrets) admits
    # the secrets of this region and account under the service's name only: a
    # secret elsewhere would fail every task's start, so the plan fails instead.
    precondition {
      condition = var.permissions_boundary_arn == null || alltrue([
        for arn in local.secret_arns :
        can(regex("^arn:[^:]+:(ssm|secretsmanager):${local.region}:${local.account_id}:(parameter/${var.name}/|secret:${var.name}/)", arn))
      ])
      error_message = "With a permissions boundary, secrets must be in this region and account and named under the service's name (the parameter /${var.name}/..., the secret ${var.name}/...): the boundary of the service's roles (modules/pipeline_roles) lets the execution role read no other."
    }
  }
}

# The app calls no AWS API: the task role has no permissions. It exists so
# that the app never runs with the execution role's, and so that permissions
# can be added here later without touching the execution role.
resource "aws_iam_role" "task" {
  name_prefix          = "${var.name}-task-"
  description          = "${var.name}: the application's own AWS identity (no permissions)"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  max_session_duration = 3600
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

# --- task definition -----------------------------------------------------------------------

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(local.container_definitions)

  # Keep earlier revisions ACTIVE: the pipeline rolls back to them.
  skip_destroy = true

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # Writable scratch space on the task's ephemeral storage, mounted at /tmp.
  volume {
    name = "tmp"
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = length(setintersection(keys(var.secrets), keys(local.container_environment))) == 0
      error_message = "secrets names must not also be plain variables of the container (environment, or the FINLEX_* settings this module sets): a variable is either a value or a secret."
    }

    # A bad setting's start-up error prints its value (application/finlex_api/settings.py).
    precondition {
      condition     = length(setintersection(keys(var.secrets), local.app_setting_names)) == 0
      error_message = "secrets names must not be one of the app's settings (FINLEX_PORT, FINLEX_LOG_LEVEL, ... in application/finlex_api/settings.py): they are configuration, and the app prints a bad setting's value."
    }
  }
}

# --- service -----------------------------------------------------------------------------------
#
# One service in both autoscaling modes, so that flipping autoscaling_enabled
# never replaces or moves it. Application Auto Scaling owns the task count in
# both: desired_count is set at creation only, and the scalable target below
# holds the count in [min, max]; with autoscaling off, min = max =
# desired_count. The pipeline owns task_definition after the first apply.

resource "aws_ecs_service" "this" {
  name                               = var.name
  cluster                            = aws_ecs_cluster.this.arn
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.desired_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  scheduling_strategy                = "REPLICA"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = var.health_check_grace_period
  availability_zone_rebalancing      = "ENABLED"
  enable_execute_command             = false
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"
  wait_for_steady_state              = var.wait_for_steady_state

  deployment_controller {
    type = "ECS"
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # Roll back a release that starts and passes health checks but then serves
  # errors or slow answers: ECS watches these alarms during the deployment
  # and its bake time (docs/runbook.md, "Deployment alarms and bake time").
  dynamic "alarms" {
    for_each = length(var.deployment_alarm_names) > 0 ? [var.deployment_alarm_names] : []
    content {
      alarm_names = alarms.value
      enable      = true
      rollback    = true
    }
  }

  network_configuration {
    subnets          = var.task_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = var.assign_public_ip
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = local.container_name
    container_port   = var.container_port
  }

  tags = var.tags

  depends_on = [aws_lb_listener_rule.service_host, aws_iam_role_policy.execution]

  # No create_before_destroy: ECS keeps service names unique in a cluster,
  # so a second "finlex" cannot exist beside the first. A replacement is
  # destroy-then-create (the rehearsal shows the plan); releases never
  # replace the service, they deploy new task definitions into it.
  lifecycle {
    ignore_changes = [task_definition, desired_count]

    precondition {
      condition     = length(local.task_azs) >= 2
      error_message = "task_subnet_ids must cover at least 2 Availability Zones."
    }
  }
}

# State written before the service was one block held it at autoscaled[0] or
# at fixed[0]. Two moved blocks may not share a target, so they form a chain:
# fixed[0] -> autoscaled[0] -> this. Whichever of the two a state holds ends
# at aws_ecs_service.this, without a replacement (tests/infra runs the chain).
moved {
  from = aws_ecs_service.fixed[0]
  to   = aws_ecs_service.autoscaled[0]
}

moved {
  from = aws_ecs_service.autoscaled[0]
  to   = aws_ecs_service.this
}

# --- autoscaling -----------------------------------------------------------------------------------
#
# The scalable target exists in both modes. RegisterScalableTarget moves the
# service's current count into [min, max] at once, so switching autoscaling
# off sets the running count to desired_count, and changing desired_count
# while it is off moves the service too. The policies exist only while it is on.

locals {
  scaling_min_capacity = var.autoscaling_enabled ? var.autoscaling_min_capacity : var.desired_count
  scaling_max_capacity = var.autoscaling_enabled ? var.autoscaling_max_capacity : var.desired_count
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  min_capacity       = local.scaling_min_capacity
  max_capacity       = local.scaling_max_capacity
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "cpu" {
  count = var.autoscaling_enabled ? 1 : 0

  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension
  resource_id        = aws_appautoscaling_target.this.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling_cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  count = var.autoscaling_enabled ? 1 : 0

  name               = "${var.name}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension
  resource_id        = aws_appautoscaling_target.this.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling_requests_per_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.this.arn_suffix}/${aws_lb_target_group.this.arn_suffix}"
    }
  }
}
