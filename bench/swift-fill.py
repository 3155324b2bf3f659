# Writes many small objects straight into a running Swift server's store with Swift's own library (the
# object server's on-disk layout and metadata writer, the container server's ContainerBroker), as the servers themselves would
# after a PUT: far faster than PUTs through the proxy (~40/s on the development machine), and with the
# same object files and listing rows. The container must already exist (created through S3).
#
#   python3 swift-fill.py SWIFT_DIR ACCOUNT CONTAINER TEMPLATE FROM TO DIRS FIRST_EPOCH
#
# Writes objects FROM..TO-1. Keys are d{NN}/part-{NNNNNN}.parquet, object i in directory i % DIRS, each a
# copy of TEMPLATE; object i's Last-Modified is FIRST_EPOCH + i seconds, so the same call always writes
# the same listing.
import hashlib
import os
import sys

from swift.common.ring import Ring
from swift.common.storage_policy import POLICIES
from swift.common.utils import Timestamp, hash_path, storage_directory
from swift.container.backend import DATADIR as CONTAINER_DATADIR, ContainerBroker
from swift.obj import diskfile

swift_dir, account, container, template, start, stop, dirs, first = sys.argv[1:9]
start, stop, dirs, first = int(start), int(stop), int(dirs), int(first)
devices = os.path.join(swift_dir, 'devices')
body = open(template, 'rb').read()
etag = hashlib.md5(body).hexdigest()

object_ring = Ring(swift_dir, ring_name='object')
policy = POLICIES.default
objects_dir = diskfile.get_data_dir(policy)
items = []
for i in range(start, stop):
    name = 'd%02d/part-%06d.parquet' % (i % dirs, i)
    ts = Timestamp(first + i)
    part, nodes = object_ring.get_nodes(account, container, name)
    # The object server's layout: objects/PART/SUFFIX/HASH/TIMESTAMP.data, metadata in an xattr.
    name_hash = hash_path(account, container, name)
    data_dir = os.path.join(devices, nodes[0]['device'], storage_directory(objects_dir, part, name_hash))
    os.makedirs(data_dir, exist_ok=True)
    with open(os.path.join(data_dir, ts.internal + '.data'), 'wb') as f:
        f.write(body)
        diskfile.write_metadata(f.fileno(), {'name': '/%s/%s/%s' % (account, container, name), 'X-Timestamp': ts.internal,
                                             'Content-Type': 'application/octet-stream', 'ETag': etag,
                                             'Content-Length': str(len(body))})
    items.append({'name': name, 'created_at': ts.internal, 'size': len(body), 'content_type': 'application/octet-stream',
                  'etag': etag, 'deleted': 0, 'storage_policy_index': int(policy)})

container_ring = Ring(swift_dir, ring_name='container')
part, nodes = container_ring.get_nodes(account, container)
name_hash = hash_path(account, container)
db_dir = os.path.join(devices, nodes[0]['device'], storage_directory(CONTAINER_DATADIR, part, name_hash))
broker = ContainerBroker(os.path.join(db_dir, name_hash + '.db'), account=account, container=container)
for at in range(0, len(items), 10000):
    broker.merge_items(items[at:at + 10000])
print(len(items))
