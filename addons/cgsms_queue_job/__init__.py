from . import models


def post_init_hook(env):
    # Newer queue_job releases forbid commits in jobs unless the job function allows them.
    function = env.ref("cgsms_queue_job.queue_job_function_sms_send_chunk")
    if "allow_commit" in function._fields:
        function.allow_commit = True
