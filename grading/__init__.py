"""The course's grading path: nbgrader, made fast, hard to fool, and safe to run on anyone's notebook.

``make grade ASSIGNMENT=<id>`` runs :mod:`grading.driver`; ``nbgrader_config.py`` puts the pieces into
nbgrader itself, so the formgrader and a plain ``nbgrader autograde`` use them too. One concept a module:

========================  ========================================================================
``precheck``              a submitted folder repaired or rejected, file by file, before nbgrader
``repair``                nbgrader metadata set back to the gradebook's, lost cells put back (in nbgrader)
``notes``                 the *Grading notes* cell telling the learner what was repaired
``sandbox``               the bubblewrap command line confining the kernel server
``forkserver``            the kernel server: torch imported once, a fresh confined kernel forked per notebook
``kernelmanager``         the kernel manager asking this process's server for a guarded kernel
``kernel``                the guarded kernel: answers the grader's requests, runs tests in their own namespace
``guard``                 snapshot, restore and check of what tests rely on
``protocol``              the wire format of the grader's requests to the kernel
``execute``               nbgrader's Execute step: guarded tests, crash recovery, output and time caps
``scoring``               an error fails a test, stderr does not
``feedback``              feedback without hidden tests or graders' rubrics; student output inert
``journal``               which students are done, so a stopped run resumes
``merge``                 a student's results moved from a scratch gradebook into the course's
``driver``                the parallel run: pre-check, autograde, merge, feedback, export, report
``report``                ``make report``: what the class misunderstood, from the gradebook and autograded/
``bench``                 stock nbgrader against the driver, on generated submissions, with the lower bound
``inprocess``             an assignment's test cells run in this process on given answers (no grader), a planted class
========================  ========================================================================
"""
