"""The parameter text every estimator shares, written once.

An estimator's docstring holds placeholder lines where numpydoc puts
its parameters in signature order: ``    <count>`` and ``    <image_shape>`` (after
``n_clusters``), ``    <views>`` and ``    <init>`` (where the method has
those parameters) and ``    <common parameters>`` (after the method's own
parameters), and one in its Attributes, ``    <common attributes>`` (last);
:func:`shared_parameters` replaces them.  A test checks that
every estimator documents each of its parameters once, in order.
"""

__all__ = ["shared_parameters"]

_ATTRIBUTES = """\
    n_clusters_ : int
        The number of clusters trained: ``n_clusters``, or its estimate.
    n_clusters_estimate_ : NClustersEstimate
        With ``n_clusters="auto"``: the estimate (the number, the runner-up
        and the criterion over the candidates).  Absent otherwise.
    n_features_in_ : int
        Values per sample.
    image_shape_ : tuple of int or None
        ``(C, H, W)`` of the training images, None for tabular data.
    device_ : torch.device
        Device the model was trained on.
    input_offset_, input_scale_ : float or ndarray
        Input scaling learned in ``fit``: images map to [0, 1] by the data's
        minimum and range; feature rows are centred per column and divided by
        one scale, the root mean square of the columns' deviations.
    resolved_params_ : dict
        The value each parameter with a rule took in this fit, by name: what
        the training used.  A data-dependent parameter (one that takes
        ``"auto"``) has the value its rule gave for the training data; a
        parameter with a check has its checked value (a crop range as floats,
        say).  A warm start keeps its first fit's.
    restart_scores_ : ndarray of shape (n_init,)
        :meth:`score` of each restart's model on the training data (NaN for
        restarts a Ctrl-C left unrun); after a warm start, the continued
        models' (a consensus's every restart, else the kept one alone).
    best_restart_ : int
        The restart of highest score (0-based): the model kept.
    consensus_ : object
        With ``combine="consensus"`` and more than one finished restart: the
        restarts (``consensus_.members``, fitted estimators of one restart
        each) and their alignments, which ``predict`` reads.  Absent otherwise.
"""

_COUNT = """\
        ``"auto"``: the number :func:`~skdeepcluster.estimate_n_clusters`
        finds in the training rows as the fit scales them (the pixels, or the
        features given), before training; ``n_clusters_`` holds it.
"""

_IMAGE_SHAPE = """\
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` when 2-D input rows are images; see the user guide.
"""

_VIEWS = """\
    views : {"auto", "augment", "neighbors", "augmented-neighbors"}, default="auto"
        Where each sample's second view, the positive of the invariance loss,
        comes from.  ``"augment"`` (the paper's): an augmented copy of the
        sample.  ``"neighbors"``: one of its ``n_neighbors`` nearest training
        rows (cosine), drawn per sample and step: the positive pairs SCAN and
        TEMI use on frozen features.  ``"augmented-neighbors"``: for images,
        one of its nearest images (cosine of the centred pixels), augmented
        as the paper augments the sample itself.  ``"auto"``: neighbours for feature rows
        (such as :class:`~skdeepcluster.PretrainedFeatures`' rows), whose
        noise-and-dropout augmentation keeps little of what a row means;
        augmentations for images.
    n_neighbors : int or "auto", default="auto"
        Nearest neighbours a view is drawn from.  ``"auto"``: <auto_neighbors>, or a third
        of the training rows per cluster when that is fewer (3 for 10 per
        cluster)<neighbors_note>.
"""

_INIT = """\
    init : {"auto", "kmeans", "graph", "random"}, default="auto"
        How the cluster head starts.  ``"random"`` (the paper's): from its
        random initialisation.  ``"kmeans"``: first trained for about 150
        updates to the partition k-means (10 starts) finds in the training
        rows, which the method's losses then refine, as DEC, IDEC and VaDE
        start from k-means.  ``"graph"``: the same, to the partition of the
        rows' nearest-neighbour graph (cosine of the centred rows, up to 10
        neighbours and at most half a cluster's rows, spectral embedding and
        k-means of 100 starts), a steadier start than k-means on images whose
        nearest neighbours share their class (digits: 0.89 ACC over
        5 seeds against k-means's 0.79).  ``"auto"``: k-means for feature rows, on which a
        head started at random lands in a different partition on every seed;
        random for images.
<init_note>"""

_COMMON = """\
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where the fit runs (``"cuda:N"`` picks a GPU); ``"auto"`` takes CUDA
        when it is available.
    random_state : int, RandomState instance or None, default=None
        Seeds <draws>; CPU fits with the same seed and number of threads
        are identical.
    n_init : int, default=1
        Restarts from different seeds (the first is the seed a single fit
        takes, the others the next draws of ``random_state``), combined as
        ``combine`` says.  Costs ``n_init`` fits, and ``predict`` on new data
        ``n_init`` passes.  A Ctrl-C combines the finished restarts (or keeps
        the current one if none finished); with ``checkpoint_path``, restart
        ``r > 0`` writes to ``"<checkpoint_path>.restart<r>"`` and a resumed
        fit reads the finished restarts back.
    combine : {"consensus", "best"}, default="consensus"
        How ``n_init`` restarts become one clustering.  ``"consensus"``: each
        restart's clusters are matched to the others' (Hungarian method on
        their shared samples) and every sample takes the cluster its aligned
        restarts give the most weight (the mean of their soft assignments
        where the method has them, else their votes); ``predict`` on new
        data combines the restarts' labels the same way, so ``labels_`` is
        ``predict(X)``.  The errors of different seeds differ and the vote
        cancels many of them.  A cluster every restart fills but the vote
        empties (its samples split between its neighbours) takes the samples
        closest to it, as many as the restarts' median size of it.
        ``transform``, ``score`` of VariationalClustering
        and a warm start use the restart of highest :meth:`score`; a warm
        start trains every restart on and combines them again.  ``"best"``:
        keep the restart of highest :meth:`score` on the training data, as
        :class:`~sklearn.cluster.KMeans` keeps the run of least inertia; a
        warm start trains it on, with no new restarts.
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


def shared_parameters(draws, warm_note="", init_note="", neighbors_note=""):
    """Class decorator: write the shared parameters and attributes into the class docstring.

    ``draws`` completes "Seeds ..." in ``random_state``'s text (what the
    seed decides); ``warm_note`` ends the first sentence of ``warm_start``'s
    with what is particular to the method (e.g. ", where ..."), and
    ``init_note`` (whole lines) ends ``init``'s, ``neighbors_note`` the
    sentence of ``n_neighbors``'s (the number ``"auto"`` takes is the class's
    ``_auto_neighbors``).  The placeholders
    ``    <views>`` and ``    <init>`` take the entries of ``views`` and
    ``n_neighbors``, and of ``init``.
    """

    def decorate(cls):
        if cls.__doc__:
            common = _COMMON.replace("<draws>", draws).replace("<warm_note>", warm_note)
            views = _VIEWS.replace(
                "<auto_neighbors>", str(getattr(cls, "_auto_neighbors", ""))
            ).replace("<neighbors_note>", neighbors_note)
            cls.__doc__ = (
                cls.__doc__.replace("    <count>\n", _COUNT)
                .replace("    <image_shape>\n", _IMAGE_SHAPE)
                .replace("    <views>\n", views)
                .replace("    <init>\n", _INIT.replace("<init_note>", init_note))
                .replace("    <common parameters>\n", common)
                .replace("    <common attributes>\n", _ATTRIBUTES)
            )
        return cls

    return decorate
