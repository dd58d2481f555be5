"""Use DiDi distances anywhere scikit-learn takes ``metric="precomputed"``
=======================================================================

``FisherJSMetric`` is a transformer: its distance matrix feeds a UMAP
(``FisherUMAP("precomputed")``), a nearest-neighbour classifier or a clustering,
and ``transform`` gives new samples' distances on the same scale. With
``n_neighbors`` it computes only the exact nearest-neighbour graph, for large data.

Run: ``python examples/precomputed_distances.py``
"""

from sklearn.cluster import AgglomerativeClustering
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from didi import FisherJSMetric, FisherUMAP

X, y = load_wine(return_X_y=True)
X_fit, X_new, y_fit, y_new = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_fit, y_fit)

# 1. DiDi distances -> UMAP, as one pipeline; new samples go through transform.
mapper = make_pipeline(
    FisherJSMetric(clf), FisherUMAP("precomputed", n_neighbors=15, random_state=0)
)
embedding = mapper.fit_transform(X_fit)
print("embedding", embedding.shape, "new points", mapper.transform(X_new).shape)

# 2. The same distances drive a k-NN classifier and a clustering.
metric = FisherJSMetric(clf).fit(X_fit)
D_train, D_test = metric.transform(X_fit), metric.transform(X_new)
knn = KNeighborsClassifier(5, metric="precomputed").fit(D_train, clf.predict(X_fit))
print(
    "k-NN on DiDi distances agrees with the classifier on",
    f"{(knn.predict(D_test) == clf.predict(X_new)).mean():.0%} of new samples",
)
clusters = AgglomerativeClustering(3, metric="precomputed", linkage="average").fit_predict(D_train)
print(
    "clusters vs classifier labels, adjusted Rand:",
    round(adjusted_rand_score(clf.predict(X_fit), clusters), 3),
)

# 3. For large data, the exact k-nearest-neighbour graph replaces the full matrix: a
#    sparse matrix in KNeighborsTransformer's convention, accepted wherever
#    metric="precomputed" accepts sparse input.
graph_metric = FisherJSMetric(clf, n_neighbors=10)
graph_train = graph_metric.fit_transform(X_fit)
knn_graph = KNeighborsClassifier(5, metric="precomputed").fit(graph_train, clf.predict(X_fit))
same = (knn_graph.predict(graph_metric.transform(X_new)) == knn.predict(D_test)).mean()
print(
    f"k-NN graph: {graph_train.nnz} stored distances instead of {len(X_fit) ** 2};",
    f"the k-NN classifier's predictions are {same:.0%} the same as with the full matrix",
)
