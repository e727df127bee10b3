"""Framework integrations, one module per framework (as sentry-python keeps them).

Each integration is a module with the same small protocol:

``WATCHES``
    The framework modules it patches; the boot's registry
    (:data:`autotelemetry.hook.boot.INTEGRATIONS`) maps each to the integration.
``patch(module)``
    Instrument that framework module, idempotently, by observing (never
    wrapping) what the framework does; open the run with
    ``recorder.begin(integration, framework)`` when the command starts.
``describe(invocation, ending) -> recorder.Outcome``
    Turn the parse state it kept in ``invocation.state`` into the command path,
    the flags (names the CLI registered, never values) and what the framework
    says about the ending (usage error, interrupt, error type). The recorder
    classifies the run from that, the same way for every framework.
"""
