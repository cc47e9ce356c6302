"""The parameter text every estimator shares, written once.

An estimator's docstring holds two placeholder lines where numpydoc puts
its parameters in signature order: ``    <image_shape>`` (after
``n_clusters``) and ``    <common parameters>`` (after the method's own
parameters), and one in its Attributes, ``    <common attributes>`` (last);
:func:`shared_parameters` replaces them.  A test checks that
every estimator documents each of its parameters once, in order.
"""

__all__ = ["shared_parameters"]

_ATTRIBUTES = """\
    n_features_in_ : int
        Values per sample.
    image_shape_ : tuple of int or None
        ``(C, H, W)`` of the training images, None for tabular data.
    device_ : torch.device
        Device the model was trained on.
    input_offset_, input_scale_ : float or ndarray
        Input scaling learned in ``fit``.
    resolved_params_ : dict
        The value each data-dependent parameter (those that take ``"auto"``)
        took in this fit, by name: what the training used.  A warm start
        keeps its first fit's.
    restart_scores_ : ndarray of shape (n_init,)
        :meth:`score` of each restart's model on the training data (NaN for
        restarts a Ctrl-C left unrun); after a warm start, the continued
        model's alone.
    best_restart_ : int
        The restart kept (0-based): the one of highest score.
"""

_IMAGE_SHAPE = """\
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` when 2-D input rows are images; see the user guide.
"""

_COMMON = """\
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where the fit runs (``"cuda:N"`` picks a GPU); ``"auto"`` takes CUDA
        when it is available.
    random_state : int, RandomState instance or None, default=None
        Seeds <draws>; CPU fits with the same seed and number of threads
        are identical.
    n_init : int, default=1
        Restarts from different seeds (the first is the seed a single fit
        takes, the others the next draws of ``random_state``); the model of
        highest :meth:`score` on the training data is kept, as
        :class:`~sklearn.cluster.KMeans` keeps the run of least inertia.
        Costs ``n_init`` fits.  A Ctrl-C keeps the best of the finished
        restarts and the current one; with ``checkpoint_path``, restart
        ``r > 0`` writes to ``"<checkpoint_path>.restart<r>"`` and a resumed
        fit reads the finished restarts back; a warm start trains the kept
        restart on, with no new restarts.
    verbose : int, default=0
        0 prints nothing.  1 shows a progress bar per training phase (tqdm's,
        on standard error) with the epoch, the last epoch's losses and the
        time left; Ctrl-C ends the fit with the model so far, and the bar
        says so; with ``n_init`` above 1 each restart's score is printed.
        ``verbose=N`` above 1 also prints a line of losses every ``N``
        epochs on standard output (for logs).
    max_device_bytes : int, default=None
        The most memory the training data may take on the device.  Images
        given as uint8 stay uint8 there (a quarter of float32) and become
        float a batch at a time.  Data larger than this limit, or than the
        device has room for, stay in host memory (page-locked for CUDA) and
        each batch is copied to the device as it is drawn: slower, same
        result.  None: no limit.
    warm_start : bool, default=False
        If True and the estimator is fitted, ``fit`` trains the fitted model
        further, for ``max_epochs`` more epochs on the given ``X`` (same
        per-sample shape), continuing its optimiser and random states,
        scaling and ``history_``: two fits of 5 epochs give the model of one
        fit of 10<warm_note>.  If False, every ``fit`` starts afresh.
    checkpoint_path : str or path-like, default=None
        If given, the full training state (model, optimisers, random states,
        epoch, history) is written there every ``checkpoint_every`` epochs,
        atomically (a temporary file renamed over the old one).  A ``fit``
        that finds a checkpoint written for the same parameters, data and
        device resumes from it (a finished one goes straight to the read-out);
        one written for another fit raises a ``ValueError`` naming what
        differs, and an unreadable file a ``ValueError`` too.  Files are read
        with ``torch.load(weights_only=True)``: no code in them runs.
    checkpoint_every : int, default=1
        Epochs between checkpoints (counted over the whole fit); the last
        epoch of each training phase is always written.
"""


def shared_parameters(draws, warm_note=""):
    """Class decorator: write the shared parameters and attributes into the class docstring.

    ``draws`` completes "Seeds ..." in ``random_state``'s text (what the
    seed decides); ``warm_note`` ends the first sentence of ``warm_start``'s
    with what is particular to the method (e.g. ", where ...").
    """
    def decorate(cls):
        if cls.__doc__:
            common = _COMMON.replace("<draws>", draws).replace("<warm_note>", warm_note)
            cls.__doc__ = (cls.__doc__.replace("    <image_shape>\n", _IMAGE_SHAPE)
                           .replace("    <common parameters>\n", common)
                           .replace("    <common attributes>\n", _ATTRIBUTES))
        return cls
    return decorate
