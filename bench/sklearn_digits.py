"""scikit-learn reference for bench/digits_vs_sklearn.sh: MLPClassifier with one
hidden layer of 64 ReLU units, Adam lr 1e-3, batch 32, 50 epochs, on digits with 25 %
held out (stratified), inputs standardized on the training split. Prints the seconds
of fit() and the held-out accuracy as JSON."""
import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
x, y = data[:, :-1], data[:, -1].astype(int)
xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)
sc = StandardScaler().fit(xtr)
clf = MLPClassifier(hidden_layer_sizes=(64,), solver="adam", learning_rate_init=1e-3,
                    batch_size=32, max_iter=50, shuffle=True, random_state=seed,
                    tol=0, n_iter_no_change=10**9)
warnings.simplefilter("ignore", ConvergenceWarning)
t0 = time.perf_counter()
clf.fit(sc.transform(xtr), ytr)
secs = time.perf_counter() - t0
print(json.dumps({"seconds": secs, "test_accuracy": clf.score(sc.transform(xte), yte)}))
